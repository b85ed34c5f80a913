"""Every DAG as Airflow's DagBag parses it: docs with links, an owner, retries for transient
errors only, audited failures, described parameters, Assets named by what they are, quiet
GX logs, and a local-only UI with a private passwords file."""

import logging
import stat

import duckdb
import httpx
import pytest
from airflow.sdk.definitions.retry_policy import RetryAction
from hypothesis import given
from hypothesis import strategies as st

from weir import airflow_defaults, airflow_env, errors
from weir.config import resolve_data_dir
from weir.log_filters import NOISE, QUIET, install_log_filters

DATA_ERRORS = [errors.QualityGateBlocked, errors.PolicyViolation, errors.DbtRunError, errors.DpSpecError, ValueError]


def test_every_dag_has_docs_with_links_and_an_owner(dagbag) -> None:
    assert dagbag.dags
    for dag in dagbag.dags.values():
        assert dag.doc_md and dag.doc_md.startswith("Weir "), dag.dag_id  # the module docstring first
        for link in ("Data Docs", "dbt docs", "weir dp budget", "static_index.html", "local_site/index.html"):
            assert link in dag.doc_md, (dag.dag_id, link)
        assert dag.owner == airflow_defaults.OWNER


def test_every_task_retries_transient_errors_only_and_audits_failures(dagbag) -> None:
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            if t.__class__.__name__ == "EmptyOperator":
                continue
            assert isinstance(t.retry_policy, airflow_defaults.TransientOnly), t.task_id
            assert t.retry_exponential_backoff and t.owner == airflow_defaults.OWNER, t.task_id
            callbacks = t.on_failure_callback if isinstance(t.on_failure_callback, list) else [t.on_failure_callback]
            assert any(getattr(c, "__wrapped__", c) is airflow_defaults.audit_failure for c in callbacks) or (
                t.task_id.endswith("dbt_producer_watcher")  # Cosmos composes its own around ours
            ), t.task_id


def test_trigger_parameters_are_described(dagbag) -> None:
    params = dagbag.dags["weir_platform"].params
    assert set(params) == {"continue", "users", "days", "seed", "bad_rate", "start"}
    for name in params:
        assert params.get_param(name).description, name


def test_assets_are_named_by_what_they_are(dagbag) -> None:
    uris = {a.uri for dag in dagbag.dags.values() for t in dag.tasks for a in t.outlets}
    marts = {u for u in uris if u.startswith("weir://warehouse/marts/")}

    assert all(u.startswith("weir://") for u in uris), uris  # no duckdb:///<machine path>
    assert {"weir://warehouse/marts/mart_funnel_by_channel", "weir://warehouse/marts/dp_events"} <= marts
    assert not any("/tmp" in u or "/work" in u or "duckdb" in u for u in uris)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
        TimeoutError(),
        errors.WarehouseLocked("locked"),
        duckdb.IOException('Could not set lock on file "w.duckdb": Conflicting lock is held in dbt (PID 1)'),
        errors.DbtRunError("Runtime Error: Could not set lock on file"),
        httpx.HTTPStatusError("busy", request=httpx.Request("GET", "http://x"), response=httpx.Response(503)),
    ],
)
def test_transient_errors_retry(exc: BaseException) -> None:
    try:
        raise RuntimeError("wrapped by the task") from exc
    except RuntimeError as wrapped:
        assert airflow_defaults.TransientOnly().evaluate(wrapped, 1, 4).action == RetryAction.RETRY


@given(kind=st.sampled_from(DATA_ERRORS), text=st.text(max_size=80))
def test_data_errors_fail_without_retry(kind: type[Exception], text: str) -> None:
    exc = kind(text.replace("lock", "l0ck") + " phone 13800138000")
    decision = airflow_defaults.TransientOnly().evaluate(exc, 1, 4)

    assert decision.action == RetryAction.FAIL
    # Only Weir's own messages (written to name no personal value) reach the audit log.
    assert "13800138000" not in airflow_defaults.one_line_reason(exc) or isinstance(exc, errors.WeirError)
    not_found = httpx.HTTPStatusError("no", request=httpx.Request("GET", "http://x"), response=httpx.Response(404))
    assert airflow_defaults.TransientOnly().evaluate(not_found, 1, 4).action == RetryAction.FAIL


def test_gx_registration_noise_is_filtered(caplog: pytest.LogCaptureFixture) -> None:
    install_log_filters()
    install_log_filters()  # idempotent
    with caplog.at_level(logging.INFO):
        for name, prefixes in NOISE.items():
            logging.getLogger(name).info(prefixes[0] + " %s", "x")
            logging.getLogger(name).info("Validation of %s failed", "mart_a")

        logging.getLogger("great_expectations.datasource.fluent.fluent_base_model").info(
            "QueryAsset.dict() - missing `config_provider`, skipping config substitution"
        )
        for name in QUIET:
            logging.getLogger(name).info("glyf pruned")
            logging.getLogger(name).warning("font has no glyphs")

    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["Validation of mart_a failed"] * len(NOISE) + ["font has no glyphs"] * len(QUIET)
    assert all(len(logging.getLogger(n).filters) == 1 for n in NOISE)


def test_ui_binds_locally_and_passwords_are_private(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__API__HOST", raising=False)
    monkeypatch.delenv(airflow_env.HOST_ENV, raising=False)
    data_dir = resolve_data_dir(tmp_path)
    env = airflow_env.airflow_env(data_dir)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://127.0.0.1:")
    monkeypatch.setenv(airflow_env.HOST_ENV, "0.0.0.0")  # noqa: S104 - configured on purpose
    assert airflow_env.airflow_env(data_dir)["AIRFLOW__API__HOST"] == "0.0.0.0"  # noqa: S104

    passwords = data_dir.airflow_home / airflow_env.PASSWORDS_FILE
    data_dir.airflow_home.mkdir(parents=True)
    passwords.write_text('{"admin": "old"}')
    passwords.chmod(0o644)  # as an older Weir (or Airflow itself) left it
    airflow_env.private_passwords(passwords)
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600 and passwords.read_text() == '{"admin": "old"}'
    fresh = airflow_env.private_passwords(tmp_path / "new.json")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
