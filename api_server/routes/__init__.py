"""HTTP routes of the trading API, one module per area."""
