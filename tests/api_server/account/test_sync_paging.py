"""The catch-up's paging rule as pure logic (no I/O): whatever the history, the known cursor and the page
size, the walk returns exactly the records newer than the cursor, each once."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from api_server.account.catchup import page_back


def okx_pages(ids: list[int], limit: int):
    """OKX's rule: newest first, `after` = strictly older than the id, at most `limit` per page."""
    newest_first = sorted(ids, reverse=True)

    async def fetch(after: str | None) -> list[int]:
        rows = [i for i in newest_first if after is None or i < int(after)]
        return rows[:limit]

    return fetch


@settings(max_examples=200, deadline=None)
@given(
    ids=st.sets(st.integers(min_value=1, max_value=10_000), max_size=600),
    limit=st.integers(min_value=1, max_value=100),
    known=st.one_of(st.none(), st.integers(min_value=0, max_value=10_000)),
)
def test_the_walk_returns_every_record_newer_than_the_cursor_once(ids, limit, known):
    records, reached, pages = asyncio.run(page_back(okx_pages(list(ids), limit), lambda i: i, known, page_limit=limit))
    expected = sorted((i for i in ids if known is None or i > known), reverse=True)
    assert records == expected
    assert reached == (known is not None and any(i <= known for i in ids))
    assert pages <= len(expected) // limit + 1


def test_a_page_that_does_not_move_back_stops_the_walk():
    async def stuck(after: str | None) -> list[int]:
        return [5, 4, 3]  # a broken server repeating one full page

    records, reached, pages = asyncio.run(page_back(stuck, lambda i: i, None, page_limit=3))
    assert records == [5, 4, 3] and reached is False and pages == 2
