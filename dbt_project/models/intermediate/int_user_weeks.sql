-- One row per user and week with activity under analytics consent at the event's time (and
-- now, when the build runs): the input of weekly retention. Incremental: a daily run replaces
-- the weeks new rows reach and, on older weeks, only the rows of users whose consent changed
-- (each row is one user's: rebuilding every week such a user was active would rebuild nearly
-- the whole history each day). The pre-hook deletes both; the query inserts them again.
{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='fail',
          pre_hook=per_user_rewrite_hooks('activity_week', week=true),
          post_hook="{{ record_watermark() }}") }}

select distinct
    e.user_token,
    date_trunc('week', e.event_date) as activity_week
{% if is_incremental() %}
from {{ new_days_and_changed_users(ref('int_events'), 'event_date',
        "date_trunc('week', " ~ changed_from([(ref('int_events'), 'event_date')], consent=false) ~ ")") }} as e
{% else %}
from {{ ref('int_events') }} as e
{% endif %}
where {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
