-- DP input: one row per event of a user whose analytics consent held at the event's time
-- and still holds when the build runs (a withdrawal takes all the user's past events out).
-- User-level rows for privacy/dp releases only; never published (only noisy aggregates are).
-- Incremental: a daily run replaces the days new rows reach and, on older days, only the rows
-- of users whose consent changed (their rows are theirs alone: rebuilding every day such a
-- user was active would rebuild nearly the whole history each day). The pre-hook deletes
-- both, in two statements (the day filter skips older row groups; joined to the users' test
-- by `or` it would not); the query inserts them again (append), reading the changed users'
-- older rows through a semi-join (new_days_and_changed_users).
{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='fail',
          pre_hook=per_user_rewrite_hooks('event_date'),
          post_hook="{{ record_watermark() }}") }}
select
    e.event_id,
    e.user_token,
    e.ts as event_at,
    e.event_date,
    e.event_type,
    e.channel,
    e.category
{% if is_incremental() %}
from {{ new_days_and_changed_users(ref('int_events'), 'event_date', changed_from([(ref('int_events'), 'event_date')], consent=false)) }} as e
{% else %}
from {{ ref('int_events') }} as e
{% endif %}
where {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
