"""An events-only export with a declared lawful basis builds, gates and publishes (issue 19):
the funnel mart equals counts computed straight from the file."""

import random
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from weir.cli import app

MAPPING = """\
source: events
format: csv
rename: {id: event_id, kind: event_type, happened: ts, who: user_id, via: channel}
timestamps: {ts: {format: "%Y-%m-%d %H:%M:%S", timezone: Asia/Shanghai}}
lawful_basis:
  analytics: {basis: legitimate_interest, justification: "Aggregate shop statistics; balancing test BT-7."}
"""
K = 5  # the default WEIR_K_ANONYMITY: smaller cells are left out of the mart


def _export(path: Path) -> None:
    rng = random.Random(19)
    lines = ["id,kind,happened,who,via"]
    for n in range(400):
        kind = rng.choices(["view", "add_to_cart", "purchase"], [6, 3, 1])[0]
        day, hour = rng.randrange(1, 4), rng.randrange(9, 20)
        user, channel = f"user{rng.randrange(60)}", rng.choice(["feed", "search"])
        lines.append(f"ev{n},{kind},2026-10-0{day} {hour:02d}:{rng.randrange(60):02d}:00,{user},{channel}")
    path.write_text("\n".join(lines) + "\n")


def _expected(export: Path) -> list[tuple]:
    """The funnel straight from the file, with the mart's rules: nested steps per user, the
    day in UTC, cells of 1 to k-1 people left out."""
    with duckdb.connect() as con:
        return con.execute(
            f"""
            with e as (
                select who, via, kind, cast(timezone('UTC',
                       timezone('Asia/Shanghai', strptime(happened, '%Y-%m-%d %H:%M:%S'))) as date) as d
                from read_csv(?, header = true, all_varchar = true)),
            u as (select d, via, who, bool_or(kind = 'view') v, bool_or(kind = 'add_to_cart') c,
                         bool_or(kind = 'purchase') p,
                         count(*) filter (kind = 'view') nv, count(*) filter (kind = 'add_to_cart') nc,
                         count(*) filter (kind = 'purchase') np
                  from e group by all)
            select d, via, count(*) filter (v), count(*) filter (v and c), count(*) filter (p),
                   sum(nv)::bigint, sum(nc)::bigint, sum(np)::bigint
            from u group by d, via
            having not (count(*) filter (v) between 1 and {K - 1} or count(*) filter (v and c) between 1 and {K - 1}
                        or count(*) filter (p) between 1 and {K - 1})
            order by 1, 2""",
            [str(export)],
        ).fetchall()


@pytest.fixture(autouse=True)
def _default_k(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEIR_K_ANONYMITY", raising=False)


def test_events_only_export_with_a_declared_basis_publishes_its_funnel(tmp_path: Path) -> None:
    export, mapping, data = tmp_path / "events.csv", tmp_path / "map.yml", tmp_path / "weir"
    _export(export)
    mapping.write_text(MAPPING)
    runner = CliRunner()

    for args in (
        ["ingest", "--mapping", str(mapping), str(export)],
        ["dbt", "build", "--quiet"],
        ["publish"],
    ):
        result = runner.invoke(app, [*args, "--data-dir", str(data)])
        assert result.exit_code == 0, (args, result.output)
    published = result.output

    with duckdb.connect(str(data / "published" / "published.duckdb"), read_only=True) as con:
        funnel = con.execute(
            "select event_date, channel, viewers, carters, purchasers, views, carts, purchases "
            "from mart_funnel_by_channel order by 1, 2"
        ).fetchall()
        empty = dict(con.execute("select mart, empty_because from published_marts where row_count = 0").fetchall())
    expected = _expected(export)
    assert expected and funnel == expected
    # Marts over sources the export lacks are published empty, saying what they need.
    assert "source(s) orders hold no rows" in empty["mart_daily_demand"]
    assert "empty mart_daily_demand" in published
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        bases = con.execute("select distinct purpose, basis, source from consent.bases").fetchall()
        users = con.execute("select count(distinct user_token) from consent.bases").fetchone()[0]
    assert bases == [("analytics", "legitimate_interest", "events")]
    assert users == len({line.split(",")[3] for line in export.read_text().splitlines()[1:]})

    # A user known only from the export's events can be erased, their declared basis with them.
    for args in (["dsr", "submit", "--type", "erasure", "--user-id", "user7"], ["dsr", "run"]):
        result = runner.invoke(app, [*args, "--data-dir", str(data)])
        assert result.exit_code == 0, (args, result.output)
    assert "erasure: completed" in result.output
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        left = con.execute("select count(distinct user_token) from consent.bases").fetchone()[0]
        events = con.execute("select count(distinct user_token) from raw.events").fetchone()[0]
    assert left == events == users - 1


def test_without_a_basis_the_funnel_is_empty_and_says_why(tmp_path: Path) -> None:
    export, mapping, data = tmp_path / "events.csv", tmp_path / "map.yml", tmp_path / "weir"
    _export(export)
    mapping.write_text(MAPPING.split("lawful_basis:")[0])
    runner = CliRunner()
    for args in (["ingest", "--mapping", str(mapping), str(export)], ["dbt", "build", "--quiet"], ["publish"]):
        result = runner.invoke(app, [*args, "--data-dir", str(data)])
        assert result.exit_code == 0, (args, result.output)
    assert "empty mart_funnel_by_channel: no user has consented to analytics" in " ".join(result.output.split())
