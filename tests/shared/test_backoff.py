from hypothesis import given
from hypothesis import strategies as st

from shared.backoff import Backoff


@given(
    attempt=st.integers(0, 10_000),
    base=st.floats(0.001, 10),
    cap=st.floats(0.01, 100),
    u=st.floats(0, 1),
    jitter=st.sampled_from(["full", "equal", "none"]),
)
def test_delay_is_within_zero_and_cap(attempt, base, cap, u, jitter):
    b = Backoff(base=base, cap=cap, jitter=jitter, rng=lambda: u)
    d = b.delay(attempt)
    assert 0 <= d <= cap
    assert d <= b.step(attempt)


def test_steps_double_until_the_cap():
    b = Backoff(base=0.5, cap=4, jitter="none")
    assert [b.delay(a) for a in range(6)] == [0.5, 1, 2, 4, 4, 4]


def test_equal_jitter_never_waits_less_than_half_the_step():
    b = Backoff(base=1, cap=30, jitter="equal", rng=lambda: 0.0)
    assert [b.delay(a) for a in range(4)] == [0.5, 1, 2, 4]


def test_retry_after_is_a_floor_but_still_capped():
    b = Backoff(base=0.1, cap=5, jitter="full", rng=lambda: 0.0)
    assert b.delay(0, retry_after=2) == 2
    assert b.delay(0, retry_after=60) == 5
