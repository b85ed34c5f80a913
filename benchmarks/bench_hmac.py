"""Token HMAC per value: Weir's DuckDB SQL (two sha256 calls over the padded key) vs a
vectorised Python UDF that reuses the padded key's inner and outer hash states.

Usage: python benchmarks/bench_hmac.py [--values 1000000]
The ingest's cost at 10M events is the number of HMACs (benchmarks/README.md, bench_ingest);
this measures whether computing them from the precomputed key states would be cheaper, before
anyone rewires ingest for it. Both sides run in the same DuckDB process over the same values,
after a warm-up, --repeat times in alternating order (median and spread), and must give the
same tokens.
"""

import argparse
import hashlib
import secrets

import duckdb
import pyarrow as pa
from _timing import add_repeat, alternate, ratio_lines, summary

from privacy._keyring import SecretKey
from privacy._pseudonymise import TOKEN_HEX_CHARS, _pads, key_params, token_sql


def state_udf(key: SecretKey, kind: str):  # type: ignore[no-untyped-def]
    """An Arrow UDF computing the tokens from copies of the key's inner/outer sha256 states."""
    ipad, opad = _pads(key)
    inner, outer = hashlib.sha256(ipad), hashlib.sha256(opad)
    prefix, head = f"{kind}:".encode(), f"tk{key.version}_"

    def tokens(values: pa.Array) -> pa.Array:
        out = []
        for value in values.to_pylist():
            i = inner.copy()
            i.update(prefix + value.encode())
            o = outer.copy()
            o.update(i.digest())
            out.append(head + o.hexdigest()[:TOKEN_HEX_CHARS])
        return pa.array(out, pa.string())

    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000, help="distinct user ids to tokenise")
    add_repeat(parser)
    args = parser.parse_args()
    n = args.values
    key = SecretKey(version=1, material=secrets.token_bytes(32))  # a throwaway key, never stored
    con = duckdb.connect()
    con.execute("create table v as select 'U' || (10000000 + i)::varchar as value from range(?) t(i)", [n])
    con.create_function("state_token", state_udf(key, "user"), ["VARCHAR"], "VARCHAR", type="arrow")
    params = key_params(key)
    same = con.execute(
        f"select count(*) from v where {token_sql('value', 'user')} <> state_token(value)", params
    ).fetchone()[0]
    sql = f"select count(distinct {token_sql('value', 'user')}) from v"
    times = alternate(
        args.repeat,
        {
            "sql": lambda: con.execute(sql, params).fetchall(),
            "udf": lambda: con.execute("select count(distinct state_token(value)) from v").fetchall(),
        },
        warmup=True,
    )
    per_value = {side: [s / n * 1e6 for s in seconds] for side, seconds in times.items()}
    print(f"{'HMAC, µs/value (median, min-max)':<32}")
    print(f"{'DuckDB SQL (two sha256)':<32}{summary(per_value['sql']):>22}")
    print(f"{'Python UDF, reused key state':<32}{summary(per_value['udf']):>22}")
    print(f"tokens differing: {same}")
    print(f"sql hmac: {summary(per_value['sql'])} us/value")
    print(f"udf hmac: {summary(per_value['udf'])} us/value")
    ratio_lines("reused-state udf vs sql hmac", times["udf"], times["sql"])


if __name__ == "__main__":
    main()
