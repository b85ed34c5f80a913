"""Generator: determinism, schemas, the distributions that matter, planted truth."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir import pipeline
from weir.errors import ConfigError, LandingError
from weir.generate import SOURCES, GenerateConfig, GenerateResult, generate, plan
from weir.generate._people import chinese_id_numbers, luhn_card_numbers
from weir.generate._reference import EVENT_TYPES

from .conftest import SMALL

EXPECTED_COLUMNS = {
    "users": ["user_id", "name", "phone", "email", "birth_date", "city", "country_code", "locale", "signup_at"],
    "follows": ["follower_id", "followee_id", "followed_at"],
    "orders": [
        "order_id",
        "user_id",
        "item_id",
        "shop_id",
        "quantity",
        "amount_cents",
        "currency",
        "ordered_at",
        "status",
        "channel",
        "device_id",
        "shipping_city",
        "referrer_share_id",
        "referrer_user_id",
        "group_buy_id",
        "bargain_id",
        "coupon_id",
    ],
    "group_buys": ["group_buy_id", "initiator_user_id", "item_id", "required_size", "created_at", "expires_at"],
    "bargains": ["bargain_id", "initiator_user_id", "item_id", "helps_needed", "created_at", "expires_at"],
    "live_streams": ["live_stream_id", "host_user_id", "item_id", "started_at", "ended_at"],
    "assignments": ["experiment_id", "user_id", "variant", "assigned_at"],
    "impressions": [
        "impression_id",
        "user_id",
        "item_id",
        "shown_at",
        "position",
        "badge",
        "friends_count",
        "is_clicked",
    ],
}


def good(batch_dir: Path, source: str) -> pl.DataFrame:
    """All rows of a source that were not injected as bad (bad rows are skipped by line)."""
    bad = pl.read_parquet(next((batch_dir / "_manifests").glob("*/bad_rows.parquet")))
    frames = []
    for path in sorted((batch_dir / source).glob("*/part-*")):
        rel = str(path.relative_to(batch_dir))
        skip = set(bad.filter(pl.col("file") == rel)["line"].to_list())
        if path.suffix == ".parquet":
            frames.append(pl.read_parquet(path))
        elif path.suffix == ".jsonl":
            lines = path.read_bytes().split(b"\n")[:-1]
            rows = [json.loads(line) for i, line in enumerate(lines, 1) if i not in skip]
            frames.append(pl.DataFrame(rows, infer_schema_length=None))
        else:
            lines = path.read_bytes().split(b"\n")[:-1]
            kept = [line for i, line in enumerate(lines, 1) if i == 1 or i not in skip]
            frames.append(pl.read_csv(b"\n".join(kept), infer_schema_length=0))
    return pl.concat(frames, how="diagonal_relaxed")


def test_same_seed_gives_identical_files(tmp_path: Path, small_batch: GenerateResult) -> None:
    again = generate(SMALL, tmp_path / "again")

    first = json.loads(small_batch.manifest.read_text())["files"]
    second = json.loads(again.manifest.read_text())["files"]

    assert first == second
    assert len(first) >= len(SOURCES)


def test_other_seed_gives_other_data(tmp_path: Path, small_batch: GenerateResult) -> None:
    other = generate(GenerateConfig(users=400, days=3, seed=12, bad_rate=0.02), tmp_path)

    first = json.loads(small_batch.manifest.read_text())["files"]
    second = json.loads(other.manifest.read_text())["files"]

    assert set(first.values()).isdisjoint(second.values())


def test_every_source_written_in_landing_layout(small_batch: GenerateResult) -> None:
    for name, spec in SOURCES.items():
        parts = list((small_batch.landing / name / small_batch.batch_id).glob(f"part-*.{spec.fmt}"))
        assert parts, name
    events = list((small_batch.landing / "events" / small_batch.batch_id).glob("part-*.jsonl"))
    assert len(events) == SMALL.days  # one part per day


@pytest.mark.parametrize("source", sorted(EXPECTED_COLUMNS))
def test_source_columns(batch_dir: Path, source: str) -> None:
    assert good(batch_dir, source).columns == EXPECTED_COLUMNS[source]


def test_events_have_expected_types_and_channels(batch_dir: Path) -> None:
    events = good(batch_dir, "events")

    assert set(events["event_type"].unique()) == set(EVENT_TYPES)
    assert set(events["channel"].unique()) == {"feed", "live", "share_link", "group_chat", "search"}
    assert events["event_id"].n_unique() == events.height


def test_follower_counts_are_heavy_tailed(clean_dir: Path) -> None:
    followers = good(clean_dir, "follows")["followee_id"].value_counts()["count"].to_numpy()

    top_share = np.sort(followers)[::-1][: max(1, len(followers) // 100)].sum() / followers.sum()

    assert followers.max() >= 20 * np.median(followers)
    assert top_share >= 0.15


def test_cascade_parents_are_earlier_shares(clean_dir: Path) -> None:
    events = good(clean_dir, "events")
    ring_members = {
        m
        for r in json.loads(next(clean_dir.glob("_manifests/*/manifest.json")).read_text())["truth"]["fraud_rings"]
        for m in r["members"]
    }
    shares = events.filter(pl.col("event_type") == "share").select("share_id", "parent_share_id", "ts", "user_id")
    children = shares.filter(pl.col("parent_share_id").is_not_null() & ~pl.col("user_id").is_in(ring_members))
    joined = children.join(
        shares.select("share_id", parent_ts="ts"), left_on="parent_share_id", right_on="share_id", how="left"
    )

    assert children.height > 20  # cascades do go deeper than one share
    assert joined["parent_ts"].null_count() == 0
    assert (joined["parent_ts"] < joined["ts"]).all()


def test_group_buys_fill_or_expire(clean_dir: Path) -> None:
    groups = good(clean_dir, "group_buys")
    joins = good(clean_dir, "events").filter(pl.col("event_type") == "group_buy_join")
    counted = groups.join(
        joins.group_by("group_buy_id").agg(n=pl.len(), last=pl.col("ts").max()), on="group_buy_id", how="left"
    )
    filled = counted["n"] >= counted["required_size"].cast(pl.Int64)

    assert filled.sum() > 0 and (~filled).sum() > 0
    assert (counted["n"] <= counted["required_size"].cast(pl.Int64)).all()
    assert (counted["last"] < counted["expires_at"]).all()


def test_withdrawals_follow_grants(clean_dir: Path) -> None:
    consent = good(clean_dir, "consent").filter(pl.col("user_id").str.contains(r"^U\d+-1\d{7}$"))
    grants = (
        consent.filter(pl.col("status") == "granted").group_by("user_id", "purpose").agg(first_grant=pl.col("ts").min())
    )
    withdrawals = consent.filter(pl.col("status") == "withdrawn").join(grants, on=["user_id", "purpose"], how="left")

    assert withdrawals.height > 0
    assert withdrawals["first_grant"].null_count() == 0
    assert (withdrawals["ts"] > withdrawals["first_grant"]).all()
    rates = consent.filter(pl.col("status") == "granted").group_by("purpose").len()
    assert set(rates["purpose"]) == {
        "analytics",
        "personalization",
        "marketing",
        "model_training",
        "third_party_sharing",
    }


def test_planted_truth_is_consistent(clean_dir: Path) -> None:
    truth = json.loads(next(clean_dir.glob("_manifests/*/manifest.json")).read_text())["truth"]
    users = set(good(clean_dir, "users")["user_id"])
    followers = good(clean_dir, "follows")["followee_id"].value_counts()

    for ring in truth["fraud_rings"]:
        assert set(ring["members"]) <= users
        assert 1 <= len(ring["device_ids"]) <= 2
    top = followers.sort("count", descending=True)["followee_id"][:20].to_list()
    assert len(set(truth["top_kols"][:3]) & set(top)) == 3
    assert truth["experiments"]["exp_friends_badge"]["true_relative_lift_on_purchase_given_cart"] == 0.25
    assert set(truth["experiments"]["exp_friends_badge"]["arms"]) == {"control", "treatment"}
    assert truth["group_buys"]["filled"] > 0 and truth["group_buys"]["expired"] > 0
    assert set(truth["review_pii_counts"]) == {"email", "phone", "id_number", "bank_card"}


@pytest.mark.parametrize("bad_rate", [-0.1, 0.051, 1.0])
def test_bad_rate_out_of_range_is_refused(bad_rate: float) -> None:
    with pytest.raises(ConfigError, match=r"--bad-rate .* is out of range; use 0 to 0.05"):
        GenerateConfig(bad_rate=bad_rate)


@given(
    st.dates(min_value=__import__("datetime").date(1940, 1, 1), max_value=__import__("datetime").date(2010, 12, 31)),
    st.integers(0, 2**32),
)
def test_id_numbers_carry_a_valid_checksum(birth, seed) -> None:
    number = chinese_id_numbers(np.random.default_rng(seed), pl.Series([birth]))[0]

    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    expected = "10X98765432"[sum(int(d) * w for d, w in zip(number[:17], weights, strict=True)) % 11]
    assert number[-1] == expected
    assert number[6:14] == birth.strftime("%Y%m%d")


@given(st.integers(0, 2**32))
def test_card_numbers_pass_luhn(seed: int) -> None:
    for card in luhn_card_numbers(np.random.default_rng(seed), 5):
        digits = [int(d) for d in card][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        assert len(card) == 16 and total % 10 == 0


@pytest.mark.parametrize(("users", "days"), [(50, 1), (120, 2)])
def test_smallest_configs_generate_every_source(tmp_path: Path, users: int, days: int) -> None:
    result = generate(GenerateConfig(users=users, days=days, bad_rate=0.05), tmp_path)

    assert set(result.rows) == set(SOURCES)
    assert result.rows["events"] > 0 and result.rows["users"] >= users


def test_ring_devices_carry_many_accounts_honest_ones_few(clean_dir: Path) -> None:
    truth = json.loads(next(clean_dir.glob("_manifests/*/manifest.json")).read_text())["truth"]
    ring_devices = {d for r in truth["fraud_rings"] for d in r["device_ids"]}
    per_device = (
        good(clean_dir, "events")
        .group_by("device_id")
        .agg(accounts=pl.col("user_id").n_unique(), subnets=pl.col("ip").str.extract(r"^(\d+\.\d+\.\d+)\.").n_unique())
    )
    ring = per_device.filter(pl.col("device_id").is_in(ring_devices))
    honest = per_device.filter(~pl.col("device_id").is_in(ring_devices))

    assert ring.height == len(ring_devices)
    assert ring["accounts"].min() >= 4 and ring["subnets"].max() == 1
    assert honest["accounts"].max() <= 3


@pytest.mark.parametrize("taken", ["_manifests", "events", "users"])
def test_any_existing_folder_of_the_batch_refuses_before_writing(tmp_path: Path, taken: str) -> None:
    config = GenerateConfig(users=60, days=1, seed=3)
    (tmp_path / taken / config.batch_id).mkdir(parents=True)

    with pytest.raises(LandingError, match=f"Batch {config.batch_id} already exists .*{taken}"):
        generate(config, tmp_path)

    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")] == [taken, f"{taken}/{config.batch_id}"]


def test_continue_needs_a_landed_world_and_a_start_after_it(tmp_path: Path) -> None:
    with pytest.raises(LandingError, match="No landed batch to continue in .*without --continue"):
        plan(tmp_path, cont=True)
    generate(GenerateConfig(users=60, days=2, seed=4), tmp_path)

    following = plan(tmp_path, cont=True)
    with pytest.raises(LandingError, match=r"--start 2026-10-02 falls inside landed batch 20261001-2d-s4 \(up to"):
        plan(tmp_path, cont=True, start=date(2026, 10, 2))
    with pytest.raises(ConfigError, match="--users 80 differs from the world being continued"):
        plan(tmp_path, cont=True, users=80)
    with pytest.raises(LandingError, match="No landed batch of seed 5 to continue"):
        plan(tmp_path, cont=True, seed=5)

    assert following == GenerateConfig(60, 1, 4, 0.0, date(2026, 10, 3), date(2026, 10, 1))


def test_continued_days_share_users_and_never_repeat_an_id(tmp_path: Path) -> None:
    first = generate(GenerateConfig(users=80, days=1, seed=6), tmp_path)
    days = [generate(plan(tmp_path, cont=True), tmp_path) for _ in range(2)]
    other_world = generate(GenerateConfig(users=80, days=1, seed=7, start=date(2026, 11, 1)), tmp_path)

    def ids(source: str, column: str, result: GenerateResult) -> list[str]:
        read = {".parquet": pl.read_parquet, ".jsonl": pl.read_ndjson, ".csv": pl.read_csv}
        parts = sorted((tmp_path / source / result.batch_id).glob("part-*"))  # none: nothing that day
        return [v for part in parts for v in read[part.suffix](part)[column].cast(pl.Utf8).to_list()]

    users = set(ids("users", "user_id", first))
    follows = [
        (f, e)
        for r in (first, *days)
        for f, e in zip(ids("follows", "follower_id", r), ids("follows", "followee_id", r), strict=True)
    ]
    consent_users = {u for r in days for u in ids("consent", "user_id", r)}
    assert [r.batch_id for r in days] == ["20261002-1d-s6", "20261003-1d-s6"]
    assert len(follows) == len(set(follows)) and {u for pair in follows for u in pair} <= users
    assert consent_users and consent_users <= users  # later consent names existing users only
    assert users.isdisjoint(ids("users", "user_id", other_world))  # the seed is part of the id


def test_a_scheduled_run_lands_its_data_interval_as_the_next_day_of_the_world(tmp_path: Path) -> None:
    generate(GenerateConfig(users=60, days=2, seed=4), tmp_path)
    interval = (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 6, tzinfo=UTC))

    scheduled = pipeline.config_from_params({"continue": True}, tmp_path, interval)
    manual = pipeline.config_from_params({"continue": True, "days": 2, "seed": None, "start": None}, tmp_path)
    fresh = pipeline.config_from_params({"continue": True}, tmp_path / "empty")

    assert (scheduled.batch_id, scheduled.origin) == ("20261005-1d-s4", date(2026, 10, 1))
    assert (manual.batch_id, manual.origin) == ("20261003-2d-s4", date(2026, 10, 1))
    assert fresh == GenerateConfig()  # no world landed yet: the DAG's default starts one
