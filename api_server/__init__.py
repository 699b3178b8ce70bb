"""AiTrader trading API: the only holder of OKX credentials."""
