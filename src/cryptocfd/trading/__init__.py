"""The trading state machine: commands in, events out. Pure: no I/O, no clocks, no randomness."""
