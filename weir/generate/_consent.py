"""Consent events per purpose (grants at sign-up, later grants and withdrawals) and DSRs."""

import numpy as np
import polars as pl

from weir.generate import _reference as ref
from weir.generate._events_table import ident, iso

DAY_MS = 86_400_000
LATE_GRANT_P = 0.12  # users who refused at sign-up but grant inside the window
WITHDRAW_P = 0.07  # grants withdrawn later inside the window
DSR_P = 0.006  # users filing a data-subject request inside the window
DSR_TYPE_P = [0.5, 0.4, 0.1]  # access, erasure, rectification
DSR_DEADLINE_DAYS = 30  # GDPR Art. 12(3): one month; PIPL asks for "timely"


def consent_and_dsr(
    rng: np.random.Generator,
    users: pl.DataFrame,
    n_honest: int,
    start_ms: int,
    days: int,
    tag: str,
    signup_rng: np.random.Generator,
) -> dict[str, pl.DataFrame]:
    """Consent and DSR events inside the window. When `signup_rng` is not `rng` the batch
    continues a world: sign-up grants were landed before, and the window's rates are per week."""
    first = signup_rng is rng
    scale = 1.0 if first else days / 7  # the rates above are for the demo's week
    n = users.height
    purposes = np.asarray(ref.PURPOSES)
    user = np.repeat(np.arange(n), len(purposes))
    purpose = np.tile(purposes, n)
    rate = np.tile([ref.PURPOSE_GRANT_RATE[p] for p in purposes], n)
    signup = users["signup_ms"].to_numpy()[user]
    window = days * DAY_MS
    granted_at_signup = signup_rng.random(len(user)) < rate
    late = ~granted_at_signup & (rng.random(len(user)) < LATE_GRANT_P * scale)
    grant_ms = np.where(granted_at_signup, signup, start_ms + rng.integers(0, window, len(user)))
    has_grant = granted_at_signup | late
    withdraw = has_grant & (rng.random(len(user)) < WITHDRAW_P * scale)
    end_ms = start_ms + window
    withdraw_ms = (
        np.maximum(grant_ms, start_ms)
        + (rng.random(len(user)) * (end_ms - np.maximum(grant_ms, start_ms))).astype(np.int64)
        + 1
    )
    landed = has_grant if first else late  # sign-up grants land with the world's first batch
    grants = pl.DataFrame(
        {
            "user_idx": user[landed],
            "purpose": purpose[landed],
            "status": "granted",
            "ts_ms": grant_ms[landed],
            "source": np.where(late[landed], "in_app_prompt", "signup_form"),
        }
    )
    withdrawals = pl.DataFrame(
        {
            "user_idx": user[withdraw],
            "purpose": purpose[withdraw],
            "status": "withdrawn",
            "ts_ms": np.minimum(withdraw_ms[withdraw], end_ms - 1),
            "source": "settings_page",
        }
    )
    schema = {"user_idx": pl.Int64, "purpose": pl.Utf8, "status": pl.Utf8, "ts_ms": pl.Int64, "source": pl.Utf8}
    events = pl.concat([grants.cast(schema), withdrawals.cast(schema)])
    events = events.sort("ts_ms", "user_idx", "purpose").with_row_index("idx")
    user_ids = users["user_id"]
    consent = events.select(
        consent_id=ident(f"C{tag}-", pl.col("idx").cast(pl.Int64)),
        user_id=pl.lit(user_ids).gather(pl.col("user_idx")),
        purpose="purpose",
        status="status",
        ts=iso(pl.col("ts_ms")),
        # Consents given before the 2026-09 policy refer to the earlier policy text.
        policy_version=pl.when(pl.col("ts_ms") < 1_788_220_800_000)
        .then(pl.lit("2025-06"))
        .otherwise(pl.lit("2026-09")),
        source="source",
    )
    k = max(1, int(n_honest * DSR_P * scale))
    received = start_ms + rng.integers(0, window, k)
    dsr = (
        pl.DataFrame(
            {
                "user_idx": rng.choice(n_honest, k, replace=False),
                "request_type": np.asarray(ref.DSR_TYPES)[rng.choice(3, k, p=DSR_TYPE_P)],
                "ts_ms": received,
                "channel": np.asarray(["app", "email", "web_form"])[rng.integers(0, 3, k)],
            }
        )
        .sort("ts_ms")
        .with_row_index("idx")
    )
    dsr = dsr.select(
        request_id=ident(f"DSR{tag}-", pl.col("idx").cast(pl.Int64)),
        user_id=pl.lit(user_ids).gather(pl.col("user_idx")),
        request_type="request_type",
        received_at=iso(pl.col("ts_ms")),
        deadline_at=iso(pl.col("ts_ms") + DSR_DEADLINE_DAYS * DAY_MS),
        channel="channel",
    )
    return {"consent": consent, "dsr": dsr}


def signup_grants(rng: np.random.Generator, users: pl.DataFrame, tag: str) -> pl.DataFrame:
    """The consent each new user gives on the sign-up form (per purpose, at its usual rate)."""
    purposes = np.asarray(ref.PURPOSES)
    user = np.repeat(np.arange(users.height), len(purposes))
    purpose = np.tile(purposes, users.height)
    granted = rng.random(len(user)) < np.tile([ref.PURPOSE_GRANT_RATE[p] for p in purposes], users.height)
    ts_ms = users["signup_ms"].to_numpy()[user[granted]]
    return pl.DataFrame(
        {
            "consent_id": [f"CN{tag}-{i}" for i in range(int(granted.sum()))],
            "user_id": users["user_id"].to_numpy()[user[granted]],
            "purpose": purpose[granted],
            "status": "granted",
            "ts": pl.Series(ts_ms, dtype=pl.Int64),
            "policy_version": "2026-09",  # signed up now: the current policy
            "source": "signup_form",
        },
        schema_overrides={"user_id": pl.Utf8, "purpose": pl.Utf8},
    ).with_columns(ts=iso(pl.col("ts")))
