"""AiTrader agent: DeepSeek tool-calling analysis, FastMCP tools over the trading API, memory, chat, offline model."""
