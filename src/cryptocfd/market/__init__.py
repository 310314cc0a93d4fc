"""Market data: ticks, simulated and real feeds, candle aggregation. Pure where it can be."""
