"""What the tool modules share: parameter types, annotations, the server manual, and the API call helper."""

from collections.abc import Callable
from typing import Annotated, Any

from fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from agent.trading_api import ApiAnswer, TradingApi, TradingApiError

READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True)
TRADING = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=True)
# Tools that change the account: run one at a time in the model's order, need the `trade` scope at /mcp.
TRADING_TOOLS = frozenset({"place_order", "cancel_order", "close_position", "set_position_tpsl", "move_stop"})
TRADING_TAG = "trading"

InstId = Annotated[
    str,
    Field(
        description="OKX instrument id, upper case, e.g. BTC-USDT-SWAP (USDT-margined perpetual) or BTC-USDT (spot).",
        pattern=r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-(SWAP|[0-9]{6}))?$",
    ),
]
OptionalInstId = Annotated[
    str | None,
    Field(description="Limit to one instrument id (e.g. BTC-USDT-SWAP); omit for all.", default=None),
]
DecimalString = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?$")]

INSTRUCTIONS = """\
Tools for trading OKX through the AiTrader trading API.
Units: for SWAP/FUTURES every size (`sz`, position `pos`, book sizes) is a number of CONTRACTS; one
contract is `ctVal` units of `ctValCcy` (BTC-USDT-SWAP: 0.01 BTC). Notional USDT = contracts x ctVal x price.
Sizes must be multiples of `lotSz` and at least `minSz` (see get_instrument). Numbers are decimal strings.
Every order passes the API's risk guard (see get_risk_limits); a refusal comes back as an error naming the
rule, the limit and the actual value. In approval mode an order answers status "pending_approval": it waits
for a person and is not placed yet.
"""


class ApiCaller:
    """The lifespan-owned API client (created after the server object), with API refusals as tool errors."""

    def __init__(self, get_api: Callable[[], TradingApi]) -> None:
        self.get_api = get_api

    async def send(self, method: str, path: str, payload: dict[str, Any] | None = None) -> ApiAnswer:
        try:
            if method == "GET":
                return await self.get_api().send("GET", path, params=payload)
            return await self.get_api().send(method, path, body=payload or {})
        except TradingApiError as exc:
            raise ToolError(str(exc)) from None

    async def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        return (await self.send(method, path, payload)).body
