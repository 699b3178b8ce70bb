"""Request bodies (the typed boundary), lenient exactly where OKX is.

python-okx sends every optional parameter, empty ones as "" (`reduceOnly=""`, `ordId=""`), and
`attachAlgoOrds: null`; OKX treats an empty string as "not given". Booleans come as JSON booleans (ccxt) or
the strings "true"/"false" (python-okx); OKX accepts both, so flags are typed `bool | str` and read with
`Engine._flag`. Unknown keys are ignored, as OKX ignores them.
"""

from __future__ import annotations

import msgspec

Flag = bool | str


class AttachAlgoBody(msgspec.Struct):
    tpTriggerPx: str = ""
    tpOrdPx: str = ""
    tpTriggerPxType: str = "last"
    slTriggerPx: str = ""
    slOrdPx: str = ""
    slTriggerPxType: str = "last"
    attachAlgoClOrdId: str = ""
    attachAlgoId: str = ""


class PlaceOrderBody(msgspec.Struct):
    instId: str = ""
    tdMode: str = ""
    side: str = ""
    ordType: str = ""
    sz: str = ""
    px: str = ""
    posSide: str = ""
    clOrdId: str = ""
    tag: str = ""
    reduceOnly: Flag = ""
    ccy: str = ""
    tgtCcy: str = ""
    stpMode: str = ""
    attachAlgoOrds: list[AttachAlgoBody] | None = None


class CancelOrderBody(msgspec.Struct):
    instId: str = ""
    ordId: str = ""
    clOrdId: str = ""


class AmendOrderBody(msgspec.Struct):
    instId: str = ""
    ordId: str = ""
    clOrdId: str = ""
    reqId: str = ""
    newSz: str = ""
    newPx: str = ""
    cxlOnFail: Flag = ""


class SetLeverageBody(msgspec.Struct):
    lever: str | int = ""  # ccxt sends a JSON number, python-okx a string; OKX takes both
    mgnMode: str = ""
    instId: str = ""
    ccy: str = ""
    posSide: str = ""


class SetPositionModeBody(msgspec.Struct):
    posMode: str = ""


class SetAccountLevelBody(msgspec.Struct):
    acctLv: str = ""


class ClosePositionBody(msgspec.Struct):
    instId: str = ""
    mgnMode: str = ""
    posSide: str = ""
    ccy: str = ""
    autoCxl: Flag = ""
    clOrdId: str = ""
    tag: str = ""


class CancelAlgoBody(msgspec.Struct):
    instId: str = ""
    algoId: str = ""
