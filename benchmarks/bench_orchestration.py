"""Orchestration overhead: one daily batch through the Airflow scheduler against the same stages called directly.

Usage: python benchmarks/bench_orchestration.py [--users 63000] [--days 1] [--repeat 1]
The default batch is a daily batch of the size bench_warehouse.py uses (1/30 of its 10M-event
world: ≈ 330k events from 63,000 users); `--users 2000` is the small batch of earlier figures,
where Airflow's fixed cost per task outweighs the work.
Both sides start from an empty data dir and do the same work on the same generated batch:
generate → ingest (with the raw gate) → record the run → auditor's report, then policy check +
dbt build → publish gate → publish, then every DP release. The Airflow side runs the real stack
(`weir.airflow_stack`: scheduler with the LocalExecutor, DAG processor, api-server), triggers
`weir_platform` through the REST API and waits for it and for the `weir_warehouse` and
`weir_dp_releases` runs its Assets start (training and DSR stay paused); the direct side calls the
`weir.pipeline` functions the tasks call. Starting the stack (metadata DB migration, dbt manifest,
first DAG parse) is set-up, timed apart. Target: ratio ≤ 1.5.
"""

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _timing import add_repeat, ratio_lines, spread_line, timed

from privacy._dp_spec import load_catalog
from weir import airflow_env, airflow_stack, dbt, pipeline
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig

DAGS = [airflow_env.DAG_ID, airflow_env.WAREHOUSE_DAG_ID, airflow_env.DP_DAG_ID]
DAILY_USERS = 63_000  # ≈ 5.3 events per user and day: a 10M-event month's daily batch


def direct(data_dir, config: GenerateConfig) -> dict[str, float]:
    from weir.report import write_default

    releases = sorted(load_catalog().releases)
    dbt.parse(data_dir)  # set-up on both sides (the Airflow side parses in `prepare`)

    def platform() -> None:
        result = pipeline.generate_stage(data_dir, config, actor="bench")
        print(f"batch {result.batch_id}: {result.rows['events']:,} events, {result.rows['users']:,} users")
        pipeline.ingest_stage(data_dir, "bench", batch_id=result.batch_id, stop_on_reject=False)
        pipeline.raw_gate_stage(data_dir, "bench", result.batch_id)
        pipeline.record(data_dir, "bench", "dag_run", {"dag_id": "bench"}, {"batch_id": result.batch_id})
        write_default(data_dir)  # the platform DAG's last task

    def warehouse() -> None:
        run = pipeline.warehouse_stage(data_dir, "bench")
        if not run.ok:
            raise SystemExit("direct dbt build failed")
        pipeline.gate_marts_stage(data_dir, "bench", fail_on_block=True)
        pipeline.publish_stage(data_dir, "bench", gate=False)

    return {
        "platform": timed(platform),
        "warehouse": timed(warehouse),
        "dp": timed(lambda: pipeline.dp_release_stage(data_dir, "bench", releases, provisional=True)),
    }


def through_airflow(data_dir, config: GenerateConfig) -> tuple[float, dict[str, float]]:
    begun = time.perf_counter()
    stack = airflow_stack.start(data_dir, DAGS)
    setup = time.perf_counter() - begun
    conf = {"users": config.users, "days": config.days, "seed": config.seed, "bad_rate": config.bad_rate}
    conf["start"] = config.start.isoformat()
    try:
        started, clock = datetime.now(UTC), time.perf_counter()
        airflow_stack.wait_for_run(stack, DAGS[0], airflow_stack.trigger(stack, DAGS[0], conf), timeout=3600)
        platform_done = time.perf_counter()
        airflow_stack.wait_for_run(stack, DAGS[1], after=started, timeout=3600)
        warehouse_done = time.perf_counter()
        airflow_stack.wait_for_run(stack, DAGS[2], after=started, timeout=3600)
        dp_done = time.perf_counter()
    finally:
        stack.stop()
    for dag_id in DAGS:
        print_timeline(data_dir, dag_id)
    # The warehouse run starts when gate_raw passes, while the platform's last tasks (record,
    # report) wait for the warehouse pool, so the platform run ends during or after the build:
    # each stage is timed from the previous one's end, so the stages add up to the whole, but
    # only the total compares with the direct side stage by stage.
    return setup, {
        "platform": platform_done - clock,
        "warehouse": warehouse_done - platform_done,
        "dp": dp_done - warehouse_done,
    }


def print_timeline(data_dir, dag_id: str) -> None:
    """Where a run's time went, from the metadata DB: seconds from the run's start to each
    task's (the model tasks': the first's) start and (the last's) end."""
    with sqlite3.connect(data_dir.airflow_home / "airflow.db") as con:
        rows = con.execute(
            "select t.task_id, julianday(t.start_date) * 86400, julianday(t.end_date) * 86400, "
            "julianday(r.start_date) * 86400 from task_instance t join dag_run r using (dag_id, run_id) "
            "where t.dag_id = ? and t.start_date is not null",
            [dag_id],
        ).fetchall()
    if not rows:
        return
    origin = rows[0][3]
    phases: dict[str, list[float]] = {}
    for task_id, start, end, _ in rows:
        phase = "model tasks" if task_id.endswith("_run") else task_id.removeprefix("dbt.")
        span = phases.setdefault(phase, [start, end or start, 0])
        span[0], span[1], span[2] = min(span[0], start), max(span[1], end or start), span[2] + 1
    for phase, (start, end, n) in sorted(phases.items(), key=lambda item: item[1][0]):
        print(f"  {dag_id} {phase:<24} x{n:<3} {start - origin:6.1f} -> {end - origin:6.1f} s")


def one_repeat(config: GenerateConfig, airflow_first: bool) -> tuple[dict[str, float], float, dict[str, float]]:
    """Both sides once, each from an empty data dir; `airflow_first` alternates the order."""
    with tempfile.TemporaryDirectory() as tmp:
        sides = {
            "direct": lambda: direct(resolve_data_dir(Path(tmp) / "direct"), config),
            "airflow": lambda: through_airflow(resolve_data_dir(Path(tmp) / "airflow"), config),
        }
        order = ["airflow", "direct"] if airflow_first else ["direct", "airflow"]
        results = {name: sides[name]() for name in order}
    setup, airflow_s = results["airflow"]
    return results["direct"], setup, airflow_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=DAILY_USERS)
    parser.add_argument("--days", type=int, default=1)
    add_repeat(parser, default=1)  # one repeat is ~4x one direct run plus a stack start
    args = parser.parse_args()
    config = GenerateConfig(users=args.users, days=args.days, seed=42, bad_rate=0.01)
    totals: dict[str, list[float]] = {"direct": [], "airflow": []}
    for i in range(max(1, args.repeat)):
        direct_s, setup, airflow_s = one_repeat(config, airflow_first=i % 2 == 1)
        print(f"repeat {i + 1}: {'stage':<10} {'direct s':>9} {'airflow s':>10} {'ratio':>6}")
        for stage in direct_s:
            ratio = airflow_s[stage] / direct_s[stage]
            print(f"          {stage:<10} {direct_s[stage]:>9.1f} {airflow_s[stage]:>10.1f} {ratio:>6.2f}")
        print(f"airflow set-up (db migrate, pool, dbt parse, stack start, first DAG parse): {setup:.1f} s")
        print("(stages overlap under Airflow: the platform run ends after its record and report, which wait")
        print(" for the warehouse pool while the build runs; compare the totals)")
        totals["direct"].append(sum(direct_s.values()))
        totals["airflow"].append(sum(airflow_s.values()))
    print(spread_line("direct", totals["direct"], ".1f"))
    print(spread_line("airflow", totals["airflow"], ".1f"))
    ratio_lines("airflow vs direct", totals["airflow"], totals["direct"], target=("<=", 1.5))


if __name__ == "__main__":
    main()
