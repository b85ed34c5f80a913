"""docker-compose.yml parses and wires the full stack (Docker itself is not run here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent


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
