"""Processes: the loops that join the pure engine and market code to the outside world."""
