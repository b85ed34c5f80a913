-- DP input: one row per event of a user whose analytics consent held at the event's time
-- and still holds when the build runs (a withdrawal takes all the user's past events out).
-- User-level rows for privacy/dp releases only; never published (only noisy aggregates are).
-- Incremental: a daily run replaces only the days new rows or consent events can change.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_date',
          on_schema_change='fail', pre_hook="{% if is_incremental() %}{{ clear_consent_days('event_date', ref('int_events'), 'event_date') }}{% endif %}",
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
       or e.event_date in {{ consent_changed_days(ref('int_events'), 'event_date') }})
{% endif %}
