"""Consent ledger: append-only events, and whether consent held for a purpose at a time.

Rule: the latest event at or before the time wins; no event means no consent. Events may
arrive out of order (they are ordered by their own timestamp, not by load); when a grant
and a withdrawal share a timestamp, the withdrawal wins, because refusing is the safe side.
"""

from datetime import datetime

import duckdb

PURPOSES = ("analytics", "personalization", "marketing", "model_training", "third_party_sharing")
DDL = """
create schema if not exists consent;
create table if not exists consent.ledger (
    consent_id varchar primary key,
    user_token varchar not null,
    purpose varchar not null,
    status varchar not null check (status in ('granted', 'withdrawn')),
    ts timestamptz not null,
    policy_version varchar,
    source varchar,
    batch_id varchar not null
);
-- Another lawful basis than consent, declared per purpose by an export's mapping (lawful_basis):
-- one row per user of such a batch. It counts as a grant from the start of time, until the
-- user's own consent events for that purpose say otherwise (a withdrawal is an objection).
create table if not exists consent.bases (
    user_token varchar not null,
    purpose varchar not null,
    basis varchar not null,
    justification varchar not null,
    source varchar not null,
    batch_id varchar not null,
    loaded_at timestamptz not null,
    primary key (user_token, purpose, source, batch_id)
);
create or replace view consent.intervals as
with events as (
    select user_token, purpose, status, ts, consent_id from consent.ledger
    union all
    select user_token, purpose, 'granted', '-infinity'::timestamptz, 'basis:' || source || ':' || batch_id
    from consent.bases
),
ordered as (
    select user_token, purpose, status, ts as valid_from,
        lead(ts) over (partition by user_token, purpose
                       order by ts, status = 'withdrawn', consent_id) as next_ts
    from events
)
select user_token, purpose, status, valid_from,
    coalesce(next_ts, 'infinity'::timestamptz) as valid_to
from ordered
where next_ts is null or next_ts > valid_from;
"""


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def holds_sql(user_token: str, purpose: str, at: str) -> str:
    """SQL predicate: consent for `purpose` held for `user_token` at time `at` (SQL exprs)."""
    return (
        f"exists (select 1 from consent.intervals ci where ci.user_token = {user_token} "
        f"and ci.purpose = {purpose} and ci.status = 'granted' "
        f"and ci.valid_from <= {at} and {at} < ci.valid_to)"
    )


def holds(con: duckdb.DuckDBPyConnection, user_token: str, purpose: str, at: datetime) -> bool:
    """Whether the user had consented to the purpose at that moment."""
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown purpose {purpose!r}; use one of {', '.join(PURPOSES)}.")
    ensure_ledger(con)
    return con.execute(f"select {holds_sql('$u', '$p', '$t')}", {"u": user_token, "p": purpose, "t": at}).fetchone()[0]
