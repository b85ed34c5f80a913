"""Request lifecycle edge cases: unknown users, duplicates, rectification, deadlines."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from privacy import _vault
from privacy._keyring import vault_master_key
from privacy._regions import CITY_REGION
from tests.dsr.conftest import busiest
from weir import dsr
from weir.config import DataDir
from weir.dsr import DsrError


def audit_actions(data_dir: DataDir, request_id: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return con.execute(
            "select action, figures::json->>'status' from audit.log where inputs like ? order by seq",
            [f"%{request_id}%"],
        ).fetchall()


def test_a_request_for_an_unknown_user_ends_as_no_data_recorded_and_audited(copy_dir: DataDir) -> None:
    submitted = dsr.submit_request(copy_dir, "erasure", "U99999999", "test")

    (outcome,) = dsr.run_requests(copy_dir, "test", submitted.request_id)

    assert (outcome.status, outcome.reason) == ("no_data", "no data held about this user")
    assert audit_actions(copy_dir, submitted.request_id) == [("dsr_received", "done"), ("dsr_resolve", "no_data")]


def test_a_second_open_request_of_the_same_type_is_recorded_as_a_refused_duplicate(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)
    first = dsr.submit_request(copy_dir, "access", person.user_id, "test")

    second = dsr.submit_request(copy_dir, "access", person.user_id, "test")

    assert (second.status, second.duplicate_of) == ("refused", first.request_id)
    request, _ = dsr.show_request(copy_dir, second.request_id)
    assert (request.status, request.reason) == ("refused", f"duplicate of open request {first.request_id}")
    assert audit_actions(copy_dir, second.request_id) == [("dsr_duplicate", "refused")]


def test_a_rectified_email_replaces_the_vault_value_and_its_token(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)
    user_token = person.token(copy_dir)
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        old_token = con.execute("select email_token from raw.users where user_token = ?", [user_token]).fetchone()[0]
    submitted = dsr.submit_request(copy_dir, "rectification", person.user_id, "test", "email", "fixed@example.org")

    (outcome,) = dsr.run_requests(copy_dir, "test", submitted.request_id)

    with duckdb.connect(str(copy_dir.warehouse)) as con:
        value = _vault.read(con, vault_master_key(copy_dir.keys), user_token, "email")
        new_token = con.execute("select email_token from raw.users where user_token = ?", [user_token]).fetchone()[0]
        sealed = con.execute(
            "select sealed_value from dsr.requests where request_id = ?", [submitted.request_id]
        ).fetchone()[0]
    assert outcome.status == "completed"
    assert value == "fixed@example.org"
    assert new_token != old_token and new_token.startswith("tk1_")
    assert sealed is None  # the new value is not kept in the request once applied
    assert ("dsr_rectify", "done") in audit_actions(copy_dir, submitted.request_id)


def test_a_rectified_city_updates_its_generalised_region(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        (before,) = con.execute(
            "select region from raw.users where user_token = ?", [person.token(copy_dir)]
        ).fetchone()
    city = next(c for c, r in CITY_REGION.items() if r != before)
    submitted = dsr.submit_request(copy_dir, "rectification", person.user_id, "test", "city", city)

    dsr.run_requests(copy_dir, "test", submitted.request_id)

    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        region = con.execute("select region from raw.users where user_token = ?", [person.token(copy_dir)]).fetchone()
    assert region == (CITY_REGION[city],)


def test_rectifying_a_field_that_is_not_held_is_refused_with_the_reason(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)
    submitted = dsr.submit_request(copy_dir, "rectification", person.user_id, "test", "nickname", "Someone")

    (outcome,) = dsr.run_requests(copy_dir, "test", submitted.request_id)

    assert (outcome.status, outcome.reason) == (
        "refused",
        "field 'nickname' is not held about users; rectifiable fields: phone, email, name, city, birth_date",
    )
    assert audit_actions(copy_dir, submitted.request_id)[-1] == ("dsr_resolve", "refused")


def test_rectifying_a_name_replaces_the_names_the_vault_holds(copy_dir: DataDir) -> None:
    person = busiest(copy_dir)  # the users source gave a name: it is held (for redaction) in the vault
    submitted = dsr.submit_request(copy_dir, "rectification", person.user_id, "test", "name", "Someone Else")

    (outcome,) = dsr.run_requests(copy_dir, "test", submitted.request_id)

    assert outcome.status == "completed", outcome.reason
    with duckdb.connect(str(copy_dir.warehouse)) as con:
        held = _vault.read(con, vault_master_key(copy_dir.keys), person.token(copy_dir), "name")
    assert held == "Someone Else"


def test_an_open_request_past_its_deadline_is_listed_as_overdue(copy_dir: DataDir) -> None:
    month_ago = datetime.now(UTC) - timedelta(days=30)
    late = dsr.submit_request(copy_dir, "access", "U99999998", "test", now=month_ago)
    dsr.submit_request(copy_dir, "access", "U99999997", "test")

    overdue = dsr.list_requests(copy_dir, overdue_only=True)

    assert [r.request_id for r in overdue] == [late.request_id]
    assert overdue[0].deadline_at == month_ago + timedelta(days=15)


def test_deadlines_are_configurable_per_type_and_bad_entries_are_refused() -> None:
    assert dsr.deadline_days("erasure=10, access=30") == {"access": 30, "erasure": 10, "rectification": 15}
    with pytest.raises(DsrError, match=r"WEIR_DSR_DEADLINE_DAYS entry 'withdrawal=5' is invalid"):
        dsr.deadline_days("withdrawal=5")


def test_overdue_requests_fail_the_deadline_check_naming_them(copy_dir: DataDir) -> None:
    month_ago = datetime(2026, 11, 1, tzinfo=UTC)
    late = dsr.submit_request(copy_dir, "erasure", "U99999996", "test", now=month_ago)

    with pytest.raises(dsr.DsrOverdue) as raised:
        dsr.fail_if_overdue(copy_dir, now=datetime(2026, 12, 1, tzinfo=UTC))

    assert str(raised.value) == (
        f"1 data-subject request(s) open past their deadline: {late.request_id} (erasure, due 2026-11-16). "
        "Run `weir dsr run`."
    )
