-- Consent as SCD2: one row per consent event, valid from its time until the user's next
-- event for the same purpose (open = current). The latest event wins; on a tie the
-- withdrawal wins, as in privacy/_consent.py. Incremental: only (user, purpose) pairs with
-- new ledger rows are recomputed.
{{ config(materialized='incremental', unique_key='consent_id', incremental_strategy='delete+insert',
          on_schema_change='fail') }}

with ledger as (
    select c.consent_id, c.user_token, c.purpose, c.status, c.ts, c.loaded_at
    from {{ ref('stg_consent') }} as c
    union all
    -- Another lawful basis declared for an export (consent.bases): a grant from the start of
    -- time, until the user's own consent events for the purpose say otherwise.
    select
        'basis-' || md5(b.source || '|' || b.batch_id || '|' || b.purpose || '|' || b.user_token),
        b.user_token, b.purpose, 'granted', '-infinity'::timestamptz, b.loaded_at
    from {{ source('consent', 'bases') }} as b
),

events as (
    select * from ledger
    {% if is_incremental() %}
    semi join (
        select distinct user_token, purpose from ledger
        where loaded_at > (select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ this }})
    ) as changed using (user_token, purpose)
    {% endif %}
),

ordered as (
    select
        *,
        lead(ts) over (
            partition by user_token, purpose
            order by ts, case status when 'withdrawn' then 1 else 0 end, consent_id
        ) as next_ts
    from events
)

select
    consent_id,
    user_token,
    purpose,
    status,
    ts as valid_from,
    next_ts as valid_to,
    next_ts is null as is_current,
    loaded_at
from ordered
