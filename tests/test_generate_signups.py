"""Continued days bring new sign-ups: a trickle of new users per day with their sign-up
consent, ids unique across batches and seeds, loaded beside the world's users."""

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from weir import pipeline
from weir.config import resolve_data_dir
from weir.generate import GenerateConfig, generate, plan

WORLD = GenerateConfig(users=400, days=2, seed=21, bad_rate=0.0, start=date(2026, 10, 1))


def _read(landing: Path, source: str, batch_id: str) -> pl.DataFrame:
    part = next((landing / source / batch_id).glob("part-*"))
    return pl.read_ndjson(part) if part.suffix == ".jsonl" else pl.read_csv(part, infer_schema=False)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory):
    data_dir = resolve_data_dir(tmp_path_factory.mktemp("signups"))
    other = tmp_path_factory.mktemp("other-seed")
    first = generate(WORLD, data_dir.landing)
    later = [generate(plan(data_dir.landing, cont=True, days=days), data_dir.landing) for days in (3, 4)]
    generate(replace(WORLD, seed=22), other)  # another world, same window
    other_next = generate(plan(other, cont=True, days=3), other)
    loads = pipeline.ingest_stage(data_dir, "test")
    return data_dir, first, later, other, other_next, loads


def test_each_continued_day_signs_up_a_few_new_users_with_their_consent(worlds) -> None:
    data_dir, first, later, _, _, _ = worlds
    landing = data_dir.landing
    world_ids = set(_read(landing, "users", first.batch_id)["user_id"])
    for batch, days in zip(later, (3, 4), strict=True):
        joined = _read(landing, "users", batch.batch_id)
        consent = _read(landing, "consent", batch.batch_id)
        window = batch.batch_id[:8]
        signed = consent.filter(pl.col("source") == "signup_form")

        assert 0 < joined.height <= WORLD.users * days / 365 * 4  # a trickle, not a second world
        assert not set(joined["user_id"]) & world_ids
        assert (joined["signup_at"].str.slice(0, 10).str.replace_all("-", "") >= window).all()
        assert set(signed["user_id"]) <= set(joined["user_id"]) and signed.height > 0
        assert (
            dict(zip(signed["user_id"], signed["ts"], strict=True)).items()
            <= dict(zip(joined["user_id"], joined["signup_at"], strict=True)).items()
        )  # granted at the moment they signed up


def test_new_user_ids_are_unique_across_batches_and_seeds(worlds) -> None:
    data_dir, _, later, other, other_next, _ = worlds
    ids = [set(_read(data_dir.landing, "users", b.batch_id)["user_id"]) for b in later]
    ids.append(set(_read(other, "users", other_next.batch_id)["user_id"]))

    assert all(ids) and not (ids[0] & ids[1]) and not ((ids[0] | ids[1]) & ids[2])


def test_new_users_load_and_their_consent_joins_them(worlds) -> None:
    data_dir, _, later, _, _, loads = worlds

    assert {r.status for r in loads} == {"loaded"} and all(not r.reasons for r in loads)
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        orphans = con.execute(
            "select count(*) from consent.ledger c anti join raw.users u using (user_token)"
        ).fetchone()[0]
        joined = con.execute(
            "select count(*) from raw.users where list_contains(?, _batch_id)", [[b.batch_id for b in later]]
        ).fetchone()[0]
    assert joined > 0 and orphans == 0
