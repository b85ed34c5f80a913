"""Nothing phones home: GX, Cosmos, Flower and dbt telemetry are off in every entry point."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from weir import TELEMETRY_OFF
from weir.airflow_env import airflow_env
from weir.config import resolve_data_dir

ROOT = Path(__file__).parent.parent
# Each library's own switch, read after the CLI is imported in a process whose shell asked
# for telemetry: what GX, Cosmos and Flower will actually do.
PROBE = """
import json, os
os.environ.update({"FLWR_TELEMETRY_ENABLED": "1", "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "True",
                   "GX_ANALYTICS_ENABLED": "true", "DO_NOT_TRACK": "0"})
import weir.cli  # the `weir` console script's module
import cosmos.settings, cosmos.telemetry
import flwr.supercore.telemetry as flwr_telemetry
from expectations._gate import _project
with _project(None) as context:
    gx_analytics = context.config.analytics_enabled
print(json.dumps({
    "cosmos": cosmos.telemetry.should_emit(),
    "flwr": flwr_telemetry.FLWR_TELEMETRY_ENABLED,
    "gx": [os.environ["GX_ANALYTICS_ENABLED"], gx_analytics],
}))
"""


def test_the_telemetry_switches_cover_gx_cosmos_flower_and_dbt() -> None:
    assert TELEMETRY_OFF == {
        "GX_ANALYTICS_ENABLED": "false",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "SCARF_NO_ANALYTICS": "true",
        "FLWR_TELEMETRY_ENABLED": "0",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def test_the_test_process_runs_with_telemetry_off() -> None:
    assert {k: os.environ.get(k) for k in TELEMETRY_OFF} == TELEMETRY_OFF


def test_the_cli_switches_telemetry_off_before_gx_cosmos_and_flower_read_it(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}  # Cosmos reads Airflow's config

    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)

    assert json.loads(done.stdout.splitlines()[-1]) == {"cosmos": False, "flwr": "0", "gx": ["false", False]}


def test_the_airflow_environment_has_telemetry_off(tmp_path: Path) -> None:
    env = airflow_env(resolve_data_dir(tmp_path))

    assert {k: env[k] for k in TELEMETRY_OFF} == TELEMETRY_OFF


def test_every_compose_service_of_weirs_image_has_telemetry_off() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "weir:latest"}

    assert set(services) - set(ours) == {"postgres", "redis"}  # third-party images run no Weir code
    for name, service in ours.items():
        environment = {k: str(v) for k, v in service.get("environment", {}).items()}
        assert {k: environment.get(k) for k in TELEMETRY_OFF} == TELEMETRY_OFF, name


def test_the_image_has_telemetry_off() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    for key, value in TELEMETRY_OFF.items():
        assert f"{key}={value}" in dockerfile
