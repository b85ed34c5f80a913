"""Federated purchase propensity: model quality and Flower's cost per round.

Usage: python benchmarks/bench_federated.py [--users 100000] [--clients 10] [--rounds 20] [--repeat 1]

World: a generated feature mart (`marts.mart_user_features`, the columns the model reads) with
non-IID regions: each region has its own activity level and base purchase rate; the label follows
a planted logistic model of the features. 90% of users grant model_training in the consent ledger.
Every run goes through `federated.train.train` (consent re-check at the silos, registry, ledger).

Figures (issue 17 targets):
- AUC federated vs centralised on the same consented rows: gap <= 0.02; DP (epsilon <= 8,
  delta 1e-6) vs centralised: gap <= 0.05. Per-client AUCs show the non-IID spread.
- ratio flower vs plain numpy rounds: FedAvg rounds on the simulation engine vs the same rounds
  as numpy loops over the same partitions (each silo re-reads its partition every round in both);
  target <= 3. The engine's one-off start-up is printed apart and left out of the ratio.
- seconds per round with SecAgg+ and with SecAgg+ and DP; membership-inference advantage.
With --repeat N (default 1: one repeat is four trainings and takes minutes at the default size),
the Flower runs and the numpy rounds alternate which goes first, and every time is printed as
median (min-max); the ratio is paired per repeat. Model figures are the last repeat's.
"""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
from _timing import add_repeat, alternate, ratio_lines, summary

import weir  # noqa: F401  # first: telemetry off before Flower loads
from federated import dp, task
from federated.train import TrainRequest, train
from privacy._consent import ensure_ledger
from weir.config import resolve_data_dir

START = date(2026, 9, 1)
# Planted model: log-odds per squashed feature (public, the benchmark's ground truth).
TRUE_WEIGHTS = np.array([0.8, 1.2, 2.0, 0.6, 1.0, 0.5, 1.5, 0.4, 0.3])
NOISE_MULTIPLIER = 3.4  # 20 rounds: rho = 20 / (2 * 3.4^2) = 0.865, epsilon 7.85 at delta 1e-6


def world(users: int, clients: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Feature rows with region-specific activity and base rates (non-IID silos)."""
    rng = np.random.default_rng(seed)
    region = rng.choice(clients, users, p=rng.dirichlet(np.full(clients, 3.0)))
    activity = np.exp(rng.normal(0, 0.6, clients))[region] * np.exp(rng.normal(0, 0.8, users))
    base = rng.normal(-2.5, 0.5, clients)[region]
    means = np.array([40, 8, 2, 1, 6, 3, 2, 1, 15])
    raw = rng.poisson(np.outer(activity, means)).astype(float)
    logit = base + task.squash(raw)[:, :-1] @ TRUE_WEIGHTS - TRUE_WEIGHTS.sum() / 3
    label = rng.random(users) < 1 / (1 + np.exp(-logit))
    first = np.array([START + timedelta(days=int(d)) for d in rng.integers(0, 28, users)])
    return {"region": region, "raw": raw, "label": label, "first": first}


def write_world(data_dir, rows: dict[str, np.ndarray]) -> None:  # noqa: ANN001
    """The mart and the consent ledger the silos read, as the warehouse would hold them."""
    import pyarrow as pa

    n = len(rows["label"])
    tokens = [f"tok{i:07d}" for i in range(n)]
    columns = {"user_token": tokens, "region": [f"region-{r:02d}" for r in rows["region"]]}
    columns |= {name: rows["raw"][:, i].astype(np.int64) for i, name in enumerate(task.FEATURES)}
    columns |= {"first_active_date": rows["first"], task.LABEL: rows["label"]}
    columns["last_active_at"] = [datetime(2026, 10, 5, tzinfo=UTC)] * n
    granted = np.random.default_rng(1).random(n) < 0.9
    consent = pa.table({"user_token": [t for t, g in zip(tokens, granted, strict=True) if g]})
    con = duckdb.connect(str(data_dir.warehouse))
    ensure_ledger(con)
    con.execute("create schema if not exists marts")
    con.register("mart", pa.table(columns))
    con.execute(f"create or replace table marts.{task.MART} as select * from mart")
    con.register("consenting", consent)
    con.execute(
        "insert into consent.ledger select 'c-' || user_token, user_token, 'model_training', 'granted', "
        "timestamptz '2026-01-01 00:00:00+00', 'v1', 'bench', 'bench' from consenting"
    )
    con.close()


def numpy_rounds(data_dir, rounds: int, steps: int, lr: float, l2: float) -> float:  # noqa: ANN001
    """FedAvg without Flower: each round, every silo re-reads its partition and trains; average."""
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    regions = [r[0] for r in con.execute(f"select distinct region from marts.{task.MART} order by 1").fetchall()]
    cut, now = task.split_date(con), datetime.now(UTC)
    w = np.zeros(task.dimension())
    start = time.perf_counter()
    for _ in range(rounds):
        parts = [task.load_partition(con, r, now, cut)[0].train for r in regions]
        changes = [task.local_update(w, p, steps, lr, l2, None) for p in parts]
        w = w + np.average(changes, axis=0, weights=[p.rows for p in parts])
    con.close()
    return time.perf_counter() - start


def timed_train(data_dir, rounds: int, **overrides) -> tuple[float, dict]:  # noqa: ANN001, ANN003
    use_dp = overrides.pop("dp", False)
    request = TrainRequest(dp=use_dp, rounds=rounds, reason="benchmark", overrides=tuple(overrides.items()))
    start = time.perf_counter()
    result = train(data_dir, "bench", request)
    return time.perf_counter() - start, result.card


def fresh_world(folder: Path, rows: dict[str, np.ndarray]):  # noqa: ANN201
    """A new data dir holding the same world for each Flower repeat (untimed): a DP training spends
    the quarter's model_training budget, so a second repeat in one data dir would be refused."""
    path = folder / f"flower-{len(list(folder.glob('flower-*')))}"
    path.mkdir()
    data_dir = resolve_data_dir(path)
    write_world(data_dir, rows)
    return data_dir


def flower_rounds(data_dir, rounds: int, seen: dict) -> float:  # noqa: ANN001
    """Seconds per FedAvg round on the simulation engine: a 1-round and a `rounds`-round run
    (their difference leaves the fixed costs out); SecAgg+ and SecAgg+ with DP alike, into `seen`."""
    one, _ = timed_train(data_dir, 1)
    plain, card = timed_train(data_dir, rounds)
    secagg, _ = timed_train(data_dir, rounds, secagg=True)
    private, dp_card = timed_train(data_dir, rounds, dp=True, **{"noise-multiplier": NOISE_MULTIPLIER})
    extra = rounds - 1  # all minus the 1-round plain run: fixed costs (start-up, registry) cancel
    per_round = (plain - one) / extra
    figures = {"startup": one - per_round, "secagg": (secagg - one) / extra, "private": (private - one) / extra}
    for key, value in figures.items():
        seen.setdefault(key, []).append(value)
    seen["cards"] = (card, dp_card)
    return per_round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    add_repeat(parser, default=1)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (the per-round time is a difference with a 1-round run)")
    seen: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        rows = world(args.users, args.clients)
        (Path(folder) / "numpy").mkdir()
        data_dir = resolve_data_dir(Path(folder) / "numpy")
        write_world(data_dir, rows)
        steps, lr, l2 = 5, 0.5, 0.0001
        times = alternate(
            args.repeat,
            {
                "flower": lambda: flower_rounds(fresh_world(Path(folder), rows), args.rounds, seen),
                "numpy": lambda: numpy_rounds(data_dir, args.rounds, steps, lr, l2) / args.rounds,
            },
            self_timed=True,
        )
    report(args, *seen["cards"], times, seen)


def report(args, card, dp_card, times, seen) -> None:  # noqa: ANN001
    m, d = card["metrics"], dp_card["metrics"]
    print(f"{'client':<12} {'rows':>8} {'AUC fed':>8} {'AUC DP':>8}")
    for region, rows in card["data"]["rows_per_client"].items():
        print(f"{region:<12} {rows:>8,} {m['auc_per_client'][region]:>8} {d['auc_per_client'][region]:>8}")
    plan = dp.DpPlan(args.rounds, 5, 1.0, NOISE_MULTIPLIER, task.dimension())
    print(f"users: {args.users} users")
    print(f"clients: {card['data']['clients']} clients")
    print(f"rounds: {args.rounds} rounds")
    print(f"auc federated: {m['auc_federated']:.4f}")
    print(f"auc centralised: {m['auc_centralised']:.4f}")
    print(f"auc dp: {d['auc_federated']:.4f}")
    print(f"auc gap federated vs centralised: {m['auc_centralised'] - m['auc_federated']:.4f}")
    print(f"auc gap dp vs centralised: {m['auc_centralised'] - d['auc_federated']:.4f}")
    print(f"dp epsilon: {dp.epsilon(dp.training_loss(plan), 1e-6):.3f} epsilon (delta 1e-6)")
    print(f"mia advantage plain: {m['mia_advantage']:.4f}")
    print(f"mia advantage dp: {d['mia_advantage']:.4f}")
    n = f"over {args.repeat} repeat(s), median (min-max)"
    print(f"simulation start-up: {statistics.median(seen['startup']):.2f} s  ({summary(seen['startup'])} {n})")
    print(f"flower fedavg round: {statistics.median(times['flower']):.3f} s  ({summary(times['flower'], '.3f')})")
    print(f"numpy fedavg round: {statistics.median(times['numpy']):.3f} s  ({summary(times['numpy'], '.3f')})")
    print(f"secagg+ round: {statistics.median(seen['secagg']):.3f} s  ({summary(seen['secagg'], '.3f')})")
    print(f"secagg+ dp round: {statistics.median(seen['private']):.3f} s  ({summary(seen['private'], '.3f')})")
    ratio_lines("flower vs plain numpy rounds", times["flower"], times["numpy"], target=("<=", 3))


if __name__ == "__main__":
    main()
