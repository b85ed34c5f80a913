"""A run erases all its due requests as one batch: each system runs once for all of them (one
published version, one file scan, one verification), yet every request keeps its own steps,
figures and audit entries, and a batch that crashes midway resumes per request."""

import json

import duckdb
import pytest

from tests.dsr.conftest import busiest
from tests.dsr.test_erasure import table_hits
from weir import dsr
from weir.config import DataDir
from weir.dsr import _erase
from weir.publish import published_dir


def _version(data_dir: DataDir) -> int:
    return int((published_dir(data_dir) / "current").resolve().name)


def test_two_erasures_in_one_run_share_one_published_version_and_keep_their_own_figures(copy_dir: DataDir) -> None:
    people = [busiest(copy_dir, 0), busiest(copy_dir, 1)]
    tokens = [p.token(copy_dir) for p in people]
    ids = [dsr.submit_request(copy_dir, "erasure", p.user_id, "test").request_id for p in people]
    before = _version(copy_dir)

    outcomes = {o.request_id: o.status for o in dsr.run_requests(copy_dir, "test")}

    assert [outcomes[i] for i in ids] == ["completed", "completed"]
    assert _version(copy_dir) == before + 1
    for request_id in ids:
        _, steps = dsr.show_request(copy_dir, request_id)
        raw_step = next(s for s in steps if s.system == "raw")
        assert json.loads(raw_step.detail)["tables"]["raw.users"] == {"deleted": 1, "blanked": 0}
        assert [s.system for s in steps].count("verify") == 1
    with duckdb.connect(str(copy_dir.warehouse), read_only=True) as con:
        per_request = con.execute(
            "select json_extract_string(inputs, '$.request_id'), count(*) from audit.log "
            "where action = 'dsr_published' and json_extract_string(inputs, '$.request_id') in (select unnest(?)) "
            "group by 1 order by 1",
            [ids],
        ).fetchall()
        assert table_hits(con, con.execute("select current_database()").fetchone()[0], tokens) == {}
    assert per_request == sorted((i, 1) for i in ids)


def test_a_batch_that_crashes_midway_resumes_each_request_with_a_new_one_joining(
    copy_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, late = (busiest(copy_dir, rank) for rank in range(3))
    ids = [dsr.submit_request(copy_dir, "erasure", p.user_id, "test").request_id for p in (first, second)]

    def crash(_: _erase.Erasure) -> dict:
        raise RuntimeError("simulated crash in the files step")

    real = _erase.SYSTEMS
    monkeypatch.setattr(_erase, "SYSTEMS", tuple((n, crash if n == "files" else f) for n, f in real))
    with pytest.raises(RuntimeError, match="simulated crash in the files step"):
        dsr.run_requests(copy_dir, "test")
    midway = [dsr.show_request(copy_dir, i) for i in ids]
    monkeypatch.setattr(_erase, "SYSTEMS", real)
    ids.append(dsr.submit_request(copy_dir, "erasure", late.user_id, "test").request_id)

    outcomes = {o.request_id: o.status for o in dsr.run_requests(copy_dir, "test")}

    names = [n for n, _ in real]
    for request, steps in midway:
        assert request.status == "resolved"  # no request is marked done before its systems are
        assert [s.system for s in steps][2:] == names[: names.index("files")]
    assert [outcomes[i] for i in ids] == ["completed"] * 3
    for request_id in ids:
        systems = [s.system for s in dsr.show_request(copy_dir, request_id)[1]]
        assert {n: systems.count(n) for n in names} == dict.fromkeys(names, 1)
