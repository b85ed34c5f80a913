"""Run an Airflow component with the modules Weir's tasks import already loaded:
`python -m weir.airflow_preload scheduler` (what `weir.airflow_stack` starts).

On Linux the LocalExecutor forks its workers from the scheduler and each task from a worker (no
new interpreter), so every task inherits what the scheduler imported. Without this, each task
imports Cosmos and the DAG helpers (~1 s under load) and `weir.pipeline`/`weir.dp` (~2 s) again,
the tasks that run a quality gate (ingest, gate_marts) import Great Expectations (~6 s on a
quiet machine), and the warehouse build imports dbt (~2.8 s). Airflow's plugins (Cosmos's among
them) are loaded here too: parsing a DAG file loads them on first use, ~0.3-0.6 s in every task
process, and the warehouse run has ~50 tasks. Importing opens no connection and starts no thread
or pool, so the forks are safe.
"""

import sys


def preload() -> None:
    """Import what the tasks import, and load Airflow's plugins."""
    from weir.log_filters import install_log_filters

    install_log_filters()  # before GX's import logs a line per function it registers
    from airflow.sdk.lineage import get_hook_lineage_collector
    from cosmos.dbt.runner import is_available

    import expectations._duckdb  # noqa: F401 - Great Expectations and its DuckDB support
    import expectations._single_scan  # noqa: F401
    import weir.airflow_cosmos  # noqa: F401 - loaded once, inherited by every task
    import weir.airflow_defaults  # noqa: F401
    import weir.dp  # noqa: F401
    import weir.pipeline  # noqa: F401

    is_available()  # imports dbt (~2.4 s) for the build task, which runs dbt in its own process
    import dbt.adapters.duckdb  # noqa: F401 - and its adapter (~0.4 s more when dbt loads it)

    get_hook_lineage_collector()  # loads the plugins once (cached), inherited by every task


def main() -> int:
    from airflow.__main__ import main as airflow_main

    preload()
    sys.argv = ["airflow", *sys.argv[1:]]
    return airflow_main() or 0


if __name__ == "__main__":
    sys.exit(main())
