"""Schema guarantees and the account queries against a real PostgreSQL (no API process)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from api_server.account import queries as q
from shared.migrate import apply_migrations


@pytest.fixture
async def pool(fresh_database_url):
    apply_migrations(fresh_database_url)
    async with AsyncConnectionPool(
        fresh_database_url, min_size=1, max_size=2, open=False, kwargs={"row_factory": dict_row, "autocommit": True}
    ) as pool:
        yield pool


async def test_initial_equities_holds_at_most_one_row(pool, fresh_database_url):
    assert await q.init_initial_equity(pool, Decimal("10000")) is True
    # A second start-up value never overwrites: the table is no longer empty.
    assert await q.init_initial_equity(pool, Decimal("5")) is False
    row = await q.set_initial_equity(pool, Decimal("12345.678901"), "api")
    assert row["amount"] == Decimal("12345.678901") and row["source"] == "api"
    # The schema itself refuses a second row, whatever the key.
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into initial_equities (singleton, amount, source) values (false, 1, 'api')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into initial_equities (singleton, amount, source) values (true, 1, 'api')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("update initial_equities set amount = -1")
        assert conn.execute("select count(*) from initial_equities").fetchone()[0] == 1


async def test_order_upsert_is_idempotent_and_keyed_by_cl_ord_id(pool):
    recorded = await q.insert_submitting_order(
        pool,
        cl_ord_id="abc123",
        inst_id="BTC-USDT-SWAP",
        origin="agent",
        run_id="run-7",
        purpose="order",
        side="buy",
        pos_side="net",
        ord_type="market",
        td_mode="cross",
        sz=Decimal("1"),
        px=None,
        reduce_only=False,
        lever=Decimal("5"),
        tp=None,
        sl=Decimal("60000"),
        request={"instId": "BTC-USDT-SWAP"},
    )
    assert recorded is not None and recorded["state"] == "submitting"
    # Same clOrdId again (a retried request): nothing recorded twice.
    assert (
        await q.insert_submitting_order(
            pool,
            cl_ord_id="abc123",
            inst_id="BTC-USDT-SWAP",
            origin="manual",
            run_id=None,
            purpose="order",
            side="buy",
            pos_side="net",
            ord_type="market",
            td_mode="cross",
            sz=Decimal("1"),
            px=None,
            reduce_only=False,
            lever=None,
            tp=None,
            sl=None,
            request={},
        )
        is None
    )
    values = {
        "cl_ord_id": "abc123",
        "ord_id": "42",
        "inst_id": "BTC-USDT-SWAP",
        "state": "filled",
        "side": "buy",
        "pos_side": "net",
        "ord_type": "market",
        "td_mode": "cross",
        "sz": Decimal("1"),
        "px": None,
        "reduce_only": False,
        "lever": Decimal("5"),
        "tp_trigger_px": None,
        "sl_trigger_px": Decimal("60000"),
        "acc_fill_sz": Decimal("1"),
        "avg_px": Decimal("65000.1"),
        "fee": Decimal("-0.325"),
        "pnl": Decimal("0"),
        "category": "normal",
        "okx_source": "",
        "cancel_source": "",
        "okx_created_at": datetime.now(UTC),
        "okx_updated_at": datetime.now(UTC),
    }
    async with pool.connection() as conn:
        assert await q.upsert_okx_order(conn, values) == "updated"
        assert await q.upsert_okx_order(conn, values) == "unchanged"
        # An order nobody here placed (no clOrdId) is recorded once, as the exchange's.
        external = {**values, "cl_ord_id": None, "ord_id": "43"}
        assert await q.upsert_okx_order(conn, external) == "inserted"
        assert await q.upsert_okx_order(conn, external) == "unchanged"
    ours = await q.order_by_cl_ord_id(pool, "abc123")
    assert (ours["origin"], ours["run_id"], ours["ord_id"], ours["state"]) == ("agent", "run-7", "42", "filled")
    assert (await q.order_by_ord_id(pool, "43"))["origin"] == "exchange"


async def test_fills_are_deduplicated_by_trade_id(pool):
    fill = {
        "inst_id": "BTC-USDT-SWAP",
        "trade_id": "9001",
        "ord_id": "42",
        "cl_ord_id": "",
        "bill_id": "1",
        "side": "buy",
        "pos_side": "net",
        "fill_px": Decimal("65000"),
        "fill_sz": Decimal("1"),
        "fill_pnl": Decimal("0"),
        "fee": Decimal("-0.3"),
        "fee_ccy": "USDT",
        "exec_type": "T",
        "filled_at": datetime.now(UTC),
    }
    async with pool.connection() as conn:
        assert await q.insert_fill(conn, fill) is True
        assert await q.insert_fill(conn, fill) is False
    assert len(await q.list_fills(pool, inst_id=None, limit=10)) == 1
