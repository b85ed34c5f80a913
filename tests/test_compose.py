"""docker-compose.yml parses and wires the full stack (Docker itself is not run here)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from federated._stack import SUPERLINK_FLAGS
from federated._tls import node_name, tls_files

ROOT = Path(__file__).parent.parent
KEYS = Path("/data/keys")  # WEIR_DATA_DIR=/data in every service; keys at the data dir's default place


def test_compose_declares_the_full_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert {
        "postgres",
        "redis",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "flower-superlink",
    } <= set(services)
    assert sum(name.startswith("flower-supernode") for name in services) >= 2
    worker = services["airflow-worker"]
    assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert worker["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
    assert set(compose["volumes"]) == {"weir-data", "postgres-db"}
    init = " ".join(services["airflow-init"]["command"])
    assert "pools set weir_warehouse 1" in init and "weir dbt parse" in init  # the warehouse DAG needs both


def test_compose_image_is_built_from_the_repo() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "uv sync --frozen" in dockerfile
    for folder in ("weir", "privacy", "federated", "expectations", "dags", "dbt_project"):
        assert f"COPY {folder} {folder}" in dockerfile and (ROOT / folder).is_dir()


def flower_services(compose: dict) -> dict[str, dict]:
    return {name: service for name, service in compose["services"].items() if name.startswith("flower-")}


def supernodes(compose: dict) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if name.startswith("flower-supernode")}


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_superlink_serves_tls_with_supernode_auth_as_the_loopback_engine_does(compose: dict) -> None:
    tls = tls_files(KEYS)
    superlink = compose["services"]["flower-superlink"]
    command = superlink["command"]

    assert (option(command, "--ssl-ca-certfile"), option(command, "--ssl-certfile")) == (
        str(tls.ca_cert),
        str(tls.server_cert),
    )
    assert option(command, "--ssl-keyfile") == str(tls.server_key)
    assert set(SUPERLINK_FLAGS) <= set(command)
    assert option(command, "--serverappio-api-address").startswith("127.0.0.1:")  # no TLS, no auth there
    assert sorted(superlink["ports"]) == ["127.0.0.1:9093:9093", "9092:9092"]  # Control API: host only


def test_flower_services_never_run_insecure_and_keep_state_in_the_data_volume(compose: dict) -> None:
    services = flower_services(compose)

    assert {"flower-init", "flower-superlink", "flower-register"} <= set(services)
    for name, service in services.items():
        assert "--insecure" not in service["command"], name
        assert service["environment"]["FLWR_TELEMETRY_ENABLED"] == "0", name
        assert service["environment"]["FLWR_HOME"].startswith("/data/"), name
        assert service["volumes"] == ["weir-data:/data"], name


def test_every_supernode_is_registered_trusts_the_ca_and_reads_only_its_region(compose: dict) -> None:
    from flwr.common.config import parse_config_args

    nodes = supernodes(compose)
    init = compose["services"]["flower-init"]["command"]
    registered = re.search(r"for node in ([a-z0-9 -]+);", compose["services"]["flower-register"]["command"][2])

    regions = [parse_config_args([option(s["command"], "--node-config")])["region"] for s in nodes.values()]
    assert len(nodes) >= 2 and len(set(regions)) == len(regions)
    assert init[init.index("--superlink") + 2 :] == regions  # flower-init made a key for each
    assert registered is not None and registered.group(1).split() == [node_name(r) for r in regions]
    for (name, service), region in zip(nodes.items(), regions, strict=True):
        command = service["command"]
        assert name == f"flower-supernode-{node_name(region)}"
        assert option(command, "--root-certificates") == str(tls_files(KEYS).ca_cert)
        assert option(command, "--auth-supernode-private-key") == str(
            KEYS / "flower/supernodes" / f"{node_name(region)}.key"
        )
        assert service["depends_on"] == {"flower-register": {"condition": "service_completed_successfully"}}
    assert compose["services"]["flower-register"]["depends_on"]["flower-superlink"]["condition"] == "service_healthy"


@pytest.mark.parametrize("tool", ["flower-superlink", "flower-supernode"])
def test_every_flower_flag_in_compose_exists_in_the_locked_flwr(compose: dict, tool: str) -> None:
    help_text = subprocess.run(
        [str(Path(sys.executable).parent / tool), "--help"], capture_output=True, text=True, check=True
    ).stdout
    used = {arg for s in flower_services(compose).values() if s["command"][0] == tool for arg in s["command"]}

    flags = {arg for arg in used if arg.startswith("--")}
    assert flags and {flag for flag in flags if not re.search(rf"\[{re.escape(flag)}[ \]]", help_text)} == set()
