"""Money, scales and small shared types. Pure: no I/O, no clocks."""
