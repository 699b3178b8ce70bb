"""The shared id rules (shared/ids.py) at their boundaries, and the API's field rules built on them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_server.errors import BadRequest
from api_server.fields import cl_ord_id, run_id
from api_server.trading.origins import MANUAL, parse_origin, run_id_of
from shared.ids import CL_ORD_ID_MAX, RUN_ID_MAX, is_valid_cl_ord_id, is_valid_run_id

ID_ALPHABET = "abcXYZ019_.:-"


def test_boundaries():
    assert is_valid_cl_ord_id("a" * CL_ORD_ID_MAX) and not is_valid_cl_ord_id("a" * (CL_ORD_ID_MAX + 1))
    assert not is_valid_cl_ord_id("") and not is_valid_cl_ord_id("a-b")
    assert is_valid_run_id("r" * RUN_ID_MAX) and not is_valid_run_id("r" * (RUN_ID_MAX + 1))
    assert is_valid_run_id("run_1.2:3-4") and not is_valid_run_id("run 1") and not is_valid_run_id("")


@given(st.text(alphabet=ID_ALPHABET, min_size=1, max_size=RUN_ID_MAX))
def test_every_valid_run_id_is_an_origin_id_too(value):
    assert run_id(value) == value
    assert parse_origin(f"agent:run:{value}") == f"agent:run:{value}"
    assert run_id_of(f"agent:run:{value}", None) == value
    assert run_id_of(f"mcp:{value}", None) is None


@given(st.text(max_size=80))
def test_the_rules_never_raise_anything_but_a_400(value):
    for rule, field in ((cl_ord_id, "clOrdId"), (run_id, "runId"), (parse_origin, "X-AiTrader-Origin")):
        try:
            rule(value)
        except BadRequest as exc:
            assert exc.field == field


def test_no_origin_header_is_manual():
    assert parse_origin(None) == MANUAL
    with pytest.raises(BadRequest):
        parse_origin("manual")  # a caller cannot claim to be a person through the header
