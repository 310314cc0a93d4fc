"""CryptoCFD: a crypto CFD trading platform with an exact, deterministic engine."""

__version__ = "0.1.0"
