"""Row-bound pseudonyms (weir/row_tokens.py): publishing a row-level mart with them vs a plain
copy, and erasing users from it (one HMAC per published row per user).

`python benchmarks/bench_row_tokens.py [--rows 200000] [--users 10]`
"""

import argparse
import time

import duckdb

from privacy._keyring import SecretKey
from weir import row_tokens
from weir.publish import CATALOGUE_DDL

NODE = {
    "name": "m",
    "config": {"meta": {"row_key": "order_id"}},
    "columns": {"order_id": {}, "user_token": {"config": {"meta": {"category": "user.unique_id"}}}},
}
SALT = SecretKey(1, b"s" * 32)  # a fixed benchmark salt: the cost does not depend on its value


def _best(run, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute(
        "create table m as select 'o' || i as order_id, 'tk1_' || md5(cast(i % ? as varchar)) as user_token "
        "from range(?) t(i)",
        [max(args.rows // 4, 1), args.rows],
    )
    con.execute("attach ':memory:' as pub")
    con.execute(CATALOGUE_DDL)
    select, params = row_tokens.select_sql(NODE, "m", SALT)
    bound = _best(lambda: con.execute(f"create or replace table pub.main.m as {select}", params))
    plain = _best(lambda: con.execute("create or replace table pub.main.plain as select * from m"))
    con.execute(
        "insert into pub.main.published_marts (mart, row_key, row_bound) values ('m', 'order_id', ?)", [["user_token"]]
    )
    users = [r[0] for r in con.execute("select distinct user_token from m limit ?", [args.users]).fetchall()]
    start = time.perf_counter()
    erased = row_tokens.erase(con, "pub", SALT, users)
    erase = time.perf_counter() - start
    rows = sum(d for per_user in erased.values() for d, _ in per_user.values())
    print(f"| rows | publish row-bound | plain copy | erase {args.users} users |")
    print(f"| {args.rows} | {bound:.3f} s | {plain:.3f} s | {erase:.3f} s ({rows} rows) |")
    print(f"publish row-bound: {bound:.3f} s")
    print(f"erase per user: {erase / max(len(users), 1):.3f} s")
    print(f"ratio publish row-bound vs plain copy: {bound / plain:.2f}")


if __name__ == "__main__":
    main()
