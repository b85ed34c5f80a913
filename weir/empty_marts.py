"""Why a published mart is empty: which of its sources hold no rows, or which purpose no user
has a lawful basis for. An export of one source (events only) builds every mart; the rest come
out empty, and the publish output, the demo and the Airflow log say what each one needs."""

import duckdb

from privacy._consent import PURPOSES
from weir.manifest import ancestors, meta
from weir.sql import ident
from weir.warehouse import tables


def explain(con: duckdb.DuckDBPyConnection, manifest: dict, nodes: dict[str, dict], empty: list[str]) -> dict[str, str]:
    """mart -> one line saying what it needs, for each name in `empty` (marts with no rows)."""
    raw = tables(con, "raw")
    counts: dict[str, int] = {}

    def rows(source: str) -> int:
        if source not in counts:
            present = source in raw
            counts[source] = con.execute(f"select count(*) from raw.{ident(source)}").fetchone()[0] if present else 0
        return counts[source]

    def declared(purpose: str) -> bool:  # a lawful basis other than consent, from an export's mapping
        if "bases" not in tables(con, "consent"):
            return False
        return con.execute("select count(*) from consent.bases where purpose = ?", [purpose]).fetchone()[0] > 0

    reasons = {}
    for name in empty:
        node = nodes[name]
        upstream = [a.split(".") for a in ancestors(manifest, node["unique_id"]) if a.startswith("source.")]
        sources = sorted({name for *_, schema, name in upstream if schema == "raw"})
        missing = [s for s in sources if rows(s) == 0 and s not in ("consent", "dsr")]
        purpose = meta(node).get("purpose")
        why = [f"source(s) {', '.join(missing)} hold no rows"] if missing else []
        if purpose in PURPOSES and "consent" in sources and rows("consent") == 0 and not declared(purpose):
            why.append(
                f"no user has consented to {purpose} (load consent records, "
                "or declare another lawful basis in the export's mapping: lawful_basis)"
            )
        filled = [s for s in sources if rows(s) > 0]
        reasons[name] = "; ".join(why) or (
            f"its sources with rows ({', '.join(filled)}) hold none it keeps (see its description in the dbt docs)"
        )
    return reasons
