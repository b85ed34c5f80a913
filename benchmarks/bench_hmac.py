"""Token HMAC per value: Weir's DuckDB SQL (two sha256 calls over the padded key) vs a
vectorised Python UDF that reuses the padded key's inner and outer hash states.

Usage: python benchmarks/bench_hmac.py [--values 1000000]
The ingest's cost at 10M events is the number of HMACs (benchmarks/README.md, bench_ingest);
this measures whether computing them from the precomputed key states would be cheaper, before
anyone rewires ingest for it. Both sides run in the same DuckDB process over the same values,
best of 3, and must give the same tokens.
"""

import argparse
import hashlib
import secrets
import time

import duckdb
import pyarrow as pa

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


def best_of(repeat: int, con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        con.execute(sql, params).fetchall()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000, help="distinct user ids to tokenise")
    n = parser.parse_args().values
    key = SecretKey(version=1, material=secrets.token_bytes(32))  # a throwaway key, never stored
    con = duckdb.connect()
    con.execute("create table v as select 'U' || (10000000 + i)::varchar as value from range(?) t(i)", [n])
    con.create_function("state_token", state_udf(key, "user"), ["VARCHAR"], "VARCHAR", type="arrow")
    params = key_params(key)
    same = con.execute(
        f"select count(*) from v where {token_sql('value', 'user')} <> state_token(value)", params
    ).fetchone()[0]
    sql_s = best_of(3, con, f"select count(distinct {token_sql('value', 'user')}) from v", params)
    udf_s = best_of(3, con, "select count(distinct state_token(value)) from v")
    print(f"{'HMAC':<32}{'µs/value':>10}")
    print(f"{'DuckDB SQL (two sha256)':<32}{sql_s / n * 1e6:>10.2f}")
    print(f"{'Python UDF, reused key state':<32}{udf_s / n * 1e6:>10.2f}")
    print(f"tokens differing: {same}")
    print(f"sql hmac: {sql_s / n * 1e6:.2f} us/value")
    print(f"udf hmac: {udf_s / n * 1e6:.2f} us/value")
    print(f"ratio reused-state udf vs sql hmac: {udf_s / sql_s:.2f}")


if __name__ == "__main__":
    main()
