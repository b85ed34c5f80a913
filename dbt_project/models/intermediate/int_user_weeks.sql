-- One row per user and week with activity under analytics consent at the event's time (and
-- now, when the build runs): the
-- input of weekly retention. Incremental: a daily run replaces only the weeks that new rows
-- or consent events can change.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_week',
          on_schema_change='fail', pre_hook="{% if is_incremental() %}{{ clear_consent_days('activity_week', ref('int_events'), 'event_date', week=true) }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}

select distinct
    e.user_token,
    date_trunc('week', e.event_date) as activity_week
from {{ ref('int_events') }} as e
where {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
{% if is_incremental() %}
  and (e.event_date >= date_trunc('week', {{ changed_from([(ref('int_events'), 'event_date')], consent=false) }})
       or date_trunc('week', e.event_date) in {{ consent_changed_days(ref('int_events'), 'event_date', week=true) }})
{% endif %}
