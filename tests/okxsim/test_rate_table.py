"""The simulator and the API's client limit from one table: they cannot disagree on an endpoint's limit."""

from okxsim.control_state import RATE_LIMITS
from shared.okx_ratelimits import OKX_ENDPOINT_LIMITS, limit_for


def test_every_simulated_limit_is_the_clients_limit():
    assert set(RATE_LIMITS) == set(OKX_ENDPOINT_LIMITS)
    for (method, path), (limit, scope, window) in RATE_LIMITS.items():
        spec = limit_for(method, path)
        assert (limit, window) == (spec.limit, spec.window_secs), path
        assert scope.startswith("ip" if spec.rule.startswith("IP") else "user"), path
        assert (spec.key_param in scope) if spec.key_param else "+" not in scope, path


def test_positions_history_is_one_per_ten_seconds_in_both():
    assert RATE_LIMITS[("GET", "/api/v5/account/positions-history")][0::2] == (1, 10.0)
