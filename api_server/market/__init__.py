"""Market data: the ticker book (fed by the OKX feed), instrument specs, and the market routes."""
