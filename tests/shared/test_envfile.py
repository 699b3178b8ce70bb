import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.envfile import SettingsError, get_bool, get_float, get_int, load_environment, parse_env_file
from shared.okx_auth import iso_timestamp, parse_iso_timestamp, sign
from tests.helpers import FIXTURES


def test_parse_env_file_handles_comments_quotes_and_export():
    text = "# c\nA=1\nexport B='two words'\nC=\"x#y\"\nD=plain # trailing\n\nbroken line\n"
    assert parse_env_file(text) == {"A": "1", "B": "two words", "C": "x#y", "D": "plain"}


def test_environment_wins_over_env_file(tmp_path: Path):
    f = tmp_path / ".env"
    f.write_text("X=from_file\nY=file_only\nZ=\n")
    env = load_environment(f, {"X": "from_env"})
    assert env["X"] == "from_env" and env["Y"] == "file_only" and "Z" not in env


@pytest.mark.parametrize("raw,expected", [("true", True), ("1", True), ("YES", True), ("off", False), ("0", False)])
def test_get_bool(raw, expected):
    assert get_bool({"V": raw}, "V", not expected) is expected


def test_bad_values_name_the_variable():
    with pytest.raises(SettingsError, match="FLAG"):
        get_bool({"FLAG": "maybe"}, "FLAG", False)
    with pytest.raises(SettingsError, match="COUNT"):
        get_int({"COUNT": "12x"}, "COUNT", 1)
    with pytest.raises(SettingsError, match="RATE"):
        get_float({"RATE": "nan"}, "RATE", 1.0)
    with pytest.raises(SettingsError, match="COUNT.*>= 5"):
        get_int({"COUNT": "4"}, "COUNT", 5, minimum=5)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_get_int_never_crashes_with_other_errors(raw):
    try:
        get_int({"N": raw}, "N", 0)
    except SettingsError as exc:
        assert exc.variable == "N"


def test_signature_vectors():
    vectors = json.loads((FIXTURES / "signature_test_vectors.computed.json").read_text())["vectors"]
    assert vectors
    for v in vectors:
        assert sign(v["secret"], v["timestamp"], v["method"], v["requestPath"], v["body"]) == v["sign"]


def test_iso_timestamp_round_trip():
    ts = iso_timestamp()
    assert ts.endswith("Z") and len(ts) == 24
    assert iso_timestamp(parse_iso_timestamp(ts)) == ts
