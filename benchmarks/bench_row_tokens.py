"""Row-bound pseudonyms (weir/row_tokens.py): publishing a row-level mart with them vs a plain
copy, and erasing users from it (one HMAC per published row per user).

`python benchmarks/bench_row_tokens.py [--rows 200000] [--users 10] [--repeat 3]`
Publishing runs after a warm-up, --repeat times in alternating order with the plain copy;
the erasure runs once per repeat on a freshly published mart.
"""

import argparse

import duckdb
from _timing import add_repeat, alternate, ratio_lines, summary, timed

from privacy._keyring import SecretKey
from weir import row_tokens
from weir.publish import CATALOGUE_DDL

NODE = {
    "name": "m",
    "config": {"meta": {"row_key": "order_id"}},
    "columns": {"order_id": {}, "user_token": {"config": {"meta": {"category": "user.unique_id"}}}},
}
SALT = SecretKey(1, b"s" * 32)  # a fixed benchmark salt: the cost does not depend on its value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=10)
    add_repeat(parser)
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
    times = alternate(
        args.repeat,
        {
            "bound": lambda: con.execute(f"create or replace table pub.main.m as {select}", params),
            "plain": lambda: con.execute("create or replace table pub.main.plain as select * from m"),
        },
        warmup=True,
    )
    con.execute(
        "insert into pub.main.published_marts (mart, row_key, row_bound) values ('m', 'order_id', ?)", [["user_token"]]
    )
    users = [r[0] for r in con.execute("select distinct user_token from m limit ?", [args.users]).fetchall()]
    erase_times, rows = [], 0
    for _ in range(args.repeat):
        con.execute(f"create or replace table pub.main.m as {select}", params)
        erased: dict = {}
        erase_times.append(timed(lambda out=erased: out.update(row_tokens.erase(con, "pub", SALT, users))))
        rows = sum(d for per_user in erased.values() for d, _ in per_user.values())
    per_user = [s / max(len(users), 1) for s in erase_times]
    print(f"| rows | publish row-bound | plain copy | erase {args.users} users | (median (min-max) of {args.repeat})")
    print(
        f"| {args.rows} | {summary(times['bound'], '.3f')} s | {summary(times['plain'], '.3f')} s "
        f"| {summary(erase_times, '.3f')} s ({rows} rows) |"
    )
    print(f"publish row-bound: {summary(times['bound'], '.3f')} s")
    print(f"erase per user: {summary(per_user, '.3f')} s")
    ratio_lines("publish row-bound vs plain copy", times["bound"], times["plain"])


if __name__ == "__main__":
    main()
