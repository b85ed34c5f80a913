"""docker-compose.yml parses and wires the full stack (Docker itself is not run here)."""

import re
import stat
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
    assert set(compose["volumes"]) == {"weir-data", "weir-keys", "airflow-logs", "postgres-db"}
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
        assert service["volumes"] == ["weir-data:/data", "weir-keys:/data/keys"], name


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


SCHEMA = ROOT / "tests/data/compose-spec.json"  # compose-spec/compose-spec schema/compose-spec.json (Apache-2.0)
LONG_RUNNING = "unless-stopped"


def one_shots(compose: dict) -> set[str]:
    """Services others wait on to finish (`service_completed_successfully`)."""
    return {
        dep
        for s in compose["services"].values()
        for dep, cond in s.get("depends_on", {}).items()
        if cond["condition"] == "service_completed_successfully"
    }


def test_compose_file_is_valid_against_the_compose_spec_schema(compose: dict) -> None:
    import json

    import jsonschema

    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    broken = {**compose, "services": {**compose["services"], "redis": {"image": "redis", "healthchek": {}}}}

    assert [e.message for e in validator.iter_errors(compose)] == []
    assert [e.validator for e in validator.iter_errors(broken)] == ["additionalProperties"]  # the check can fail


def test_every_variable_compose_reads_is_generated_into_env_or_has_a_default(compose: dict) -> None:
    from weir.compose_env import GENERATED, OPTIONAL, read_env

    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    defaulted = set(re.findall(r"\$\{([A-Z_]+):-", text))
    example = read_env(ROOT / ".env.example")

    assert required == set(GENERATED)  # `make up` writes every one compose refuses to start without
    assert defaulted == set(OPTIONAL)
    assert set(example) == required | defaulted  # documented, with placeholders only
    assert all(v.startswith("<generated") for name, v in example.items() if name in GENERATED)
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    env = compose["services"]["airflow-scheduler"]["environment"]
    for name in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert all(s["environment"][name] == env[name] for s in airflow_services(compose).values()), name


def airflow_services(compose: dict) -> dict[str, dict]:
    return {n: s for n, s in compose["services"].items() if n.startswith("airflow-")}


def test_env_file_is_made_private_once_and_keeps_existing_secrets(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    from weir.compose_env import GENERATED, ensure_env, read_env

    path = tmp_path / ".env"
    path.write_text("AIRFLOW_FERNET_KEY=kept\n")
    path.chmod(0o644)

    added = ensure_env(path)
    first = read_env(path)
    again = ensure_env(path)

    assert added == [n for n in GENERATED if n != "AIRFLOW_FERNET_KEY"] and again == []
    assert read_env(path) == first and first["AIRFLOW_FERNET_KEY"] == "kept"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.env"
    ensure_env(fresh)
    assert len(Fernet(read_env(fresh)["AIRFLOW_FERNET_KEY"]).encrypt(b"x")) > 0  # a valid Fernet key
    assert len({read_env(fresh)[n] for n in GENERATED}) == len(GENERATED)  # no secret reused


def test_every_service_has_a_restart_policy_and_a_healthcheck_that_fits_it(compose: dict) -> None:
    shots = one_shots(compose)

    assert shots == {"airflow-init", "flower-init", "flower-register"}
    for name, service in compose["services"].items():
        if name in shots:
            assert (service["restart"], service["healthcheck"]) == ("on-failure", {"disable": True}), name
            continue
        assert service["restart"] == LONG_RUNNING, name
        test = service["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
    for name, service in airflow_services(compose).items():
        if name != "airflow-init":
            assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully", name
    probes = {n: " ".join(s["healthcheck"]["test"]) for n, s in airflow_services(compose).items() if n not in shots}
    assert "/api/v2/monitor/health" in probes["airflow-apiserver"]
    for name, job in [
        ("scheduler", "SchedulerJob"),
        ("dag-processor", "DagProcessorJob"),
        ("triggerer", "TriggererJob"),
    ]:
        assert f"--job-type {job} --local" in probes[f"airflow-{name}"]
    assert "inspect ping" in probes["airflow-worker"]


def test_keys_passwords_and_logs_live_on_their_own_volumes(compose: dict) -> None:
    services = compose["services"]
    env = services["airflow-scheduler"]["environment"]
    init = services["airflow-init"]["command"][2]

    for name, service in services.items():
        mounts = dict(v.split(":")[::-1] for v in service.get("volumes", []))
        if "/data" in mounts:  # every service with the data also mounts the keys apart from it
            assert (mounts["/data"], mounts.get("/data/keys")) == ("weir-data", "weir-keys"), name
        if name.startswith("airflow-"):
            assert mounts["/opt/airflow/logs"] == "airflow-logs", name  # the UI reads the workers' logs
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == "/opt/airflow/logs"
    passwords = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert passwords.startswith("/data/keys/") and f"chmod 600 {passwords}" in init
    assert "passwords" not in (ROOT / "Dockerfile").read_text()  # never baked into the image


def test_services_build_the_project_image_and_the_api_server_listens_inside_its_container(compose: dict) -> None:
    services = compose["services"]
    weir = {n: s for n, s in services.items() if s.get("image") == "weir:latest"}
    api = services["airflow-apiserver"]

    assert set(weir) == set(services) - {"postgres", "redis"}
    assert all(s["build"] == {"context": ".", "dockerfile": "Dockerfile"} for s in weir.values())
    assert option(api["command"], "--host") == "0.0.0.0" and api["environment"]["AIRFLOW__API__HOST"] == "0.0.0.0"
    assert api["ports"] == ["${AIRFLOW_UI_BIND:-127.0.0.1}:8080:8080"]  # the host publishes it on loopback
