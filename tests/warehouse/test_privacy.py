"""No raw identifier or contact value reaches the dbt schemas or the published layer."""

import duckdb
import polars as pl

from weir.publish import published_db


def _raw_values(data_dir) -> list[str]:
    users = pl.concat(
        pl.read_csv(p, infer_schema_length=0) for p in sorted((data_dir.landing / "users").glob("*/*.csv"))
    )
    values = set()
    for column in ("user_id", "phone", "email", "name"):
        values |= {v for v in users[column].drop_nulls().to_list() if len(v) >= 6}
    return sorted(values)


def _hits(path, values: list[str], schemas: tuple[str, ...] | None) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    con.register("secrets", pl.DataFrame({"value": values}).to_arrow())
    where = f"and table_schema in {schemas}" if schemas else ""
    columns = con.execute(
        f"select table_schema, table_name, column_name from information_schema.columns "
        f"where data_type = 'VARCHAR' and table_name <> 'secrets' {where}"
    ).fetchall()
    hits = {}
    for schema, table, column in columns:
        found = con.execute(
            f'select count(*) from "{schema}"."{table}" t join secrets s on t."{column}" = s.value'
        ).fetchone()[0]
        if found:
            hits[f"{schema}.{table}.{column}"] = found
    con.close()
    return hits


def test_no_raw_identifier_in_dbt_schemas_or_published_layer(built) -> None:
    values = _raw_values(built.data_dir)
    assert len(values) > 3000
    assert _hits(built.data_dir.warehouse, values, ("staging", "intermediate", "marts", "test_failures", "ops")) == {}
    assert _hits(published_db(built.data_dir), values, None) == {}


def test_user_columns_hold_tokens_only(built) -> None:
    with duckdb.connect(str(published_db(built.data_dir)), read_only=True) as con:
        tokens = con.execute(
            "select count(*), count(*) filter (where regexp_full_match(user_token, 'tk[0-9]+_[0-9a-f]{32}')) "
            "from mart_referral_attribution"
        ).fetchone()
    assert tokens[0] > 0 and tokens[0] == tokens[1]
