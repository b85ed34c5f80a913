-- DP input: one row per event of a user whose analytics consent held at the event's time
-- and still holds when the build runs (a withdrawal takes all the user's past events out).
-- User-level rows for privacy/dp releases only; never published (only noisy aggregates are).
-- Incremental: a daily run replaces the days new rows reach and, on older days, only the rows
-- of users whose consent changed (their rows are theirs alone: rebuilding every day such a
-- user was active would rebuild nearly the whole history each day). The pre-hook deletes
-- both; the query inserts them again (append).
{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where event_date >= {{ changed_from([(ref('int_events'), 'event_date')], consent=false) }} or user_token in ({{ analytics_consent_changed() }}){% endif %}",
          post_hook="{{ record_watermark() }}") }}
select
    e.event_id,
    e.user_token,
    e.ts as event_at,
    e.event_date,
    e.event_type,
    e.channel,
    e.category
from {{ ref('int_events') }} as e
where {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
{% if is_incremental() %}
  and (e.event_date >= {{ changed_from([(ref('int_events'), 'event_date')], consent=false) }}
       or e.user_token in ({{ analytics_consent_changed() }}))
{% endif %}
