"""The id rules every service shares: client order ids (OKX: 1-32 letters/digits), strategy run ids and the
ids inside an order's origin (1-64 of letters, digits, _ . : -), and instrument ids (`shared.instruments`)."""

from __future__ import annotations

import re

from shared.instruments import INST_ID_RE, is_valid_inst_id

CL_ORD_ID_MAX = 32
RUN_ID_MAX = 64
CL_ORD_ID_RE = re.compile(rf"^[A-Za-z0-9]{{1,{CL_ORD_ID_MAX}}}$")
ID_CHARS = r"[A-Za-z0-9_.:-]"  # run ids, chat session ids, MCP token names
RUN_ID_RE = re.compile(rf"^{ID_CHARS}{{1,{RUN_ID_MAX}}}$")

__all__ = [
    "CL_ORD_ID_MAX",
    "CL_ORD_ID_RE",
    "ID_CHARS",
    "INST_ID_RE",
    "RUN_ID_MAX",
    "RUN_ID_RE",
    "is_valid_cl_ord_id",
    "is_valid_inst_id",
    "is_valid_run_id",
]


def is_valid_cl_ord_id(value: str) -> bool:
    return bool(CL_ORD_ID_RE.match(value))


def is_valid_run_id(value: str) -> bool:
    return bool(RUN_ID_RE.match(value))
