"""Trading: the one order path (`orders.py`), the risk guard (`guard.py` around the pure `risk.py`), sizing,
approvals, origins, and the /api/trade routes."""
