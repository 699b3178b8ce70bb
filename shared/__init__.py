"""Code shared by the trading API, the agent and the OKX simulator."""
