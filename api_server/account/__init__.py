"""Account records: balances (live and the snapshot loop), initial equity, and the recorded orders, fills
and positions (kept current by the reconciler in `sync.py`)."""
