"""Orchestration overhead: one daily batch through Airflow against the same stages called directly.

Usage: python benchmarks/bench_orchestration.py [--users 2000] [--days 1]
Both sides start from an empty data dir and run the same stages on the same generated batch:
generate → ingest (with the raw gate) → policy check + dbt build → publish gate → publish →
every DP release. The Airflow side runs the three DAGs (`weir_platform`, `weir_warehouse`,
`weir_dp_releases`) through `airflow dags test`, the way `weir demo` does; the direct side calls
the `weir.pipeline` functions the tasks call. Airflow's metadata DB migration and the dbt
manifest (`weir dbt parse`) are set-up, timed apart. Target: ratio ≤ 1.5.
"""

import argparse
import tempfile
from pathlib import Path

from _timing import timed

from privacy._dp_spec import load_catalog
from weir import airflow_env, dbt, pipeline
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig


def direct(data_dir, config: GenerateConfig) -> dict[str, float]:
    releases = sorted(load_catalog().releases)
    dbt.parse(data_dir)  # set-up on both sides (the Airflow side parses in `prepare`)

    def platform() -> None:
        result = pipeline.generate_stage(data_dir, config, actor="bench")
        pipeline.ingest_stage(data_dir, "bench", batch_id=result.batch_id, stop_on_reject=False)
        pipeline.raw_gate_stage(data_dir, "bench", result.batch_id)

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
    log: list[Path] = []
    setup = timed(lambda: log.append(airflow_env.prepare(data_dir)))
    conf = {"users": config.users, "days": config.days, "seed": config.seed, "bad_rate": config.bad_rate}
    conf["start"] = config.start.isoformat()
    dags = {
        "platform": (airflow_env.DAG_ID, conf),
        "warehouse": (airflow_env.WAREHOUSE_DAG_ID, {}),
        "dp": (airflow_env.DP_DAG_ID, {}),
    }
    return setup, {
        stage: timed(lambda d=dag_id, c=c: airflow_env.run_dag(data_dir, c, log[0], d))
        for stage, (dag_id, c) in dags.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()
    config = GenerateConfig(users=args.users, days=args.days, seed=42, bad_rate=0.01)
    with tempfile.TemporaryDirectory() as tmp:
        direct_s = direct(resolve_data_dir(Path(tmp) / "direct"), config)
        setup, airflow_s = through_airflow(resolve_data_dir(Path(tmp) / "airflow"), config)
    print(f"{'stage':<10} {'direct s':>9} {'airflow s':>10} {'ratio':>6}")
    for stage in direct_s:
        print(
            f"{stage:<10} {direct_s[stage]:>9.1f} {airflow_s[stage]:>10.1f} {airflow_s[stage] / direct_s[stage]:>6.2f}"
        )
    total_direct, total_airflow = sum(direct_s.values()), sum(airflow_s.values())
    print(f"airflow set-up (db migrate, pool, dbt parse): {setup:.1f} s")
    print(f"direct: {total_direct:.1f} s")
    print(f"airflow: {total_airflow:.1f} s")
    print(f"warehouse share of the airflow run: {airflow_s['warehouse'] / total_airflow:.2f}")
    print(f"ratio airflow vs direct: {total_airflow / total_direct:.2f}")


if __name__ == "__main__":
    main()
