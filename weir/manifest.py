"""Read the dbt manifest: marts, their meta, and lineage (shared by policy and publish)."""

import json
from pathlib import Path

from weir.errors import ConfigError


def load(path: Path) -> dict:
    if not path.exists():
        raise ConfigError(f"No dbt manifest at {path}; run `weir dbt parse` (or `weir dbt build`) first.")
    return json.loads(path.read_text())


def meta(entry: dict) -> dict:
    """A node's or column's meta (dbt keeps it both at the top level and under config)."""
    return {**entry.get("meta", {}), **entry.get("config", {}).get("meta", {})}


def marts(manifest: dict) -> list[dict]:
    """Model nodes in the marts folder."""
    project = manifest["metadata"].get("project_name", "weir")
    return [
        n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["fqn"][:2] == [project, "marts"]
    ]


def ancestors(manifest: dict, node_id: str) -> list[str]:
    """Every node and source upstream of `node_id`, nearest first."""
    seen: list[str] = []
    stack = [node_id]
    while stack:
        for parent in manifest["nodes"].get(stack.pop(), {}).get("depends_on", {}).get("nodes", []):
            if parent not in seen:
                seen.append(parent)
                stack.append(parent)
    return seen
