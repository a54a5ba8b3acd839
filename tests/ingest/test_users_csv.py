"""The user inventory CSV (docs/formats-runtime-flows-access.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from auditkit.errors import MalformedRecordsError, UnsupportedFormatError
from tests.ingest.conftest import Ingest

HEADER = "user_id,name,type,status,mfa,last_login,created,terminated,role,k8s_username"


def test_rows_in_any_column_order(ingest: Ingest) -> None:
    text = (
        "status,user_id,type,mfa,last_login,terminated,k8s_username\n"
        "active,alice,human,true,2026-09-01T08:00:00+02:00,,alice@example.com\n"
        "disabled,ci-bot,service,,,2026-03-31,system:serviceaccount:ci:deployer\n"
    )
    loaded = ingest(text, name="users.csv")
    assert (loaded.result.format, loaded.result.family) == ("users-csv", "access")
    alice, bot = loaded.table("users", order="user_id")
    assert alice["locator"] == "line:2"
    assert (alice["user_type"], alice["status"], alice["mfa"]) == ("human", "active", True)
    assert alice["last_login"] == dt.datetime(2026, 9, 1, 6, 0)
    assert (bot["mfa"], bot["last_login"], bot["terminated"]) == (None, None, dt.date(2026, 3, 31))
    assert bot["k8s_username"] == "system:serviceaccount:ci:deployer"


def test_bad_values_are_malformed_with_their_line(ingest: Ingest) -> None:
    text = (
        HEADER
        + "\nalice,Alice,human,active,yes,,2024-01-01,,admin,alice\n"
        + "bob,Bob,robot,active,,,,,,\n"
        + "carol,Carol,human,gone,,,,,,\n"
        + "dave,Dave,human,active,maybe,,,,,\n"
        + "erin,Erin,human,active,,last tuesday,,,,\n"
        + "frank,Frank,human,active,,,,,\n"
    )
    with pytest.raises(MalformedRecordsError) as err:
        ingest(text, name="users.csv")
    assert [loc for loc, _ in err.value.bad] == ["line:3", "line:4", "line:5", "line:6", "line:7"]
    assert err.value.bad[0][1] == "type must be human or service, not 'robot'"
    assert err.value.bad[4][1] == "expected 10 columns, found 9"


def test_a_csv_without_the_required_columns_is_not_an_inventory(ingest: Ingest) -> None:
    with pytest.raises(UnsupportedFormatError):
        ingest("user_id,name\nalice,Alice\n", name="users.csv")
