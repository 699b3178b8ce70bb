"""Account and trade records: balances, snapshots, initial equity, orders / fills / positions, the order path.

`account_service(state)` is the lifespan part the app enters; routes reach the service as `state.account`.
"""

from api_server.account.service import AccountService, account_service

__all__ = ["AccountService", "account_service"]
