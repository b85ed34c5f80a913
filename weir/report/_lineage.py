"""Lineage and the records generated from the declarations (contracts, policy, releases, manifest)."""

from privacy._dp_spec import Catalog
from weir.manifest import ancestors, marts, meta
from weir.policy import load_policy
from weir.report._model import Chart, Section, Table
from weir.ropa import by_category, lawful_bases, record_of_processing


def lineage_section(manifest: dict, published: dict[str, str], catalog: Catalog, models: list[str]) -> Section:
    """sources -> raw -> marts -> published tables -> DP releases and models, with purposes and categories."""
    edges: set[tuple[str, str]] = set()
    nodes: dict[str, tuple[int, str, str]] = {}  # name -> (layer, purpose, categories)
    for node in sorted(marts(manifest), key=lambda n: n["name"]):
        purpose = meta(node).get("purpose", "")
        categories = ", ".join(sorted({meta(c).get("category", "") for c in node["columns"].values()} - {""}))
        mart = f"marts.{node['name']}"
        nodes[mart] = (2, purpose, categories)
        for source in sorted(
            a.split(".")[-1] for a in ancestors(manifest, node["unique_id"]) if a.startswith("source.")
        ):
            nodes.setdefault(f"source {source}", (0, "", ""))
            nodes.setdefault(f"raw.{source}", (1, "", ""))
            edges |= {(f"source {source}", f"raw.{source}"), (f"raw.{source}", mart)}
        if node["name"] in published:
            nodes[f"published.{node['name']}"] = (3, purpose, categories)
            edges.add((mart, f"published.{node['name']}"))
        if purpose == "model_training":
            for model in models:
                nodes[f"model {model}"] = (4, purpose, "derived.model")
                edges.add((mart, f"model {model}"))
    for spec in sorted(catalog.releases.values(), key=lambda s: s.name):
        nodes[f"dp.{spec.name}"] = (4, "analytics", "derived.aggregate")
        edges.add((f"marts.{spec.input}", f"dp.{spec.name}"))
    table = Table(
        "Lineage nodes",
        ("node", "layer", "purpose", "data_categories"),
        [(name, *value) for name, value in sorted(nodes.items(), key=lambda kv: (kv[1][0], kv[0]))],
    )
    chart = Chart(
        "Lineage: sources → raw → marts → published, DP releases, models",
        "graph",
        edges=sorted(edges),
        layers={name: value[0] for name, value in nodes.items()},
    )
    summary = (
        f"{sum(1 for v in nodes.values() if v[0] == 0)} source(s), {sum(1 for v in nodes.values() if v[0] == 2)} "
        f"mart(s), {len(published)} published, {len(catalog.releases)} DP release spec(s), {len(models)} model(s)"
    )
    return Section("lineage", "Lineage", "ok", summary, [table], [chart])


def ropa_section(manifest: dict, catalog: Catalog, declared: Table | None = None) -> Section:
    """GDPR Art. 30 record and a PIPL Art. 55 impact-assessment record, both from the declarations."""
    ropa = record_of_processing()
    record = Table(
        "Record of processing activities (GDPR Art. 30), per source column", tuple(ropa.columns), ropa.rows()
    )
    categories = by_category()
    summary_table = Table("Per data category", tuple(categories.columns), categories.rows())
    policy = load_policy()["purposes"]
    uses: dict[str, list[str]] = {}
    for node in marts(manifest):
        uses.setdefault(meta(node).get("purpose", ""), []).append(node["name"])
    releases = [s.name for s in catalog.releases.values()]
    pia = Table(
        "Personal-information impact assessment record (PIPL Art. 55), per purpose",
        ("purpose", "legal_basis", "allowed_categories", "marts", "dp_releases", "max_retention_days"),
        [
            (
                purpose,
                body["legal_basis"],
                ", ".join(body["allowed"]),
                ", ".join(sorted(uses.get(purpose, []))),
                ", ".join(releases) if purpose == "analytics" else "",
                _retention(ropa, purpose),
            )
            for purpose, body in sorted(policy.items())
        ],
    )
    bases = Table(
        "Lawful basis per source dataset (contract purposes, bases from weir/policy.yml)",
        ("source", "purpose", "legal_basis"),
        [(source, p, basis) for source, by in sorted(lawful_bases().items()) for p, basis in by.items()],
    )
    summary = f"{ropa.height} processed column(s) in {ropa['source'].n_unique()} source(s), {len(policy)} purpose(s)"
    tables = [pia, bases, *([declared] if declared else []), summary_table, record]  # declared: by export mappings
    return Section("ropa", "Record of processing and impact assessment", "ok", summary, tables)


def _retention(ropa, purpose: str) -> int | None:  # noqa: ANN001
    days = [r["retention_days"] for r in ropa.iter_rows(named=True) if purpose in r["purposes"].split(", ")]
    return max((d for d in days if d is not None), default=None)
