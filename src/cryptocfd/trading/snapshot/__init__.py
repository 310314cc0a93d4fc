"""The engine's state as a snapshot image and back: columns, cold restore, hashing.

Kept apart from the rules and state they serialize, so ``trading/`` reads as the engine's
rules; only ``trading.engine`` reaches in here.
"""
