-- Sessionisation from behaviour alone: a user's new session starts after 30 minutes of
-- inactivity (the app's own session ids are not trusted across devices).
-- Incremental: for each user with new events, the sessions those events can extend or
-- follow are deleted (pre-hook) and rebuilt from the end of the user's last kept session,
-- numbering on from it. Sessions never overlap, so the kept ones are a prefix; the events read
-- start at the earliest new event or reopened session (sessions_read_from).
{% set gap_minutes = var('session_gap_minutes', 30) %}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ reopen_sessions() }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}

{% if is_incremental() %}
with kept as (
    -- per user with new events: where the kept sessions end and how many there are
    select n.user_token, max(s.ended_at) as kept_until, coalesce(max(s.session_number), 0) as kept_sessions
    from (select distinct user_token from {{ ref('int_events') }} where loaded_at > {{ watermark() }}) as n
    left join {{ this }} as s on s.user_token = n.user_token
    group by n.user_token
),

events as (
    select e.*, k.kept_sessions
    from {{ ref('int_events') }} as e
    inner join kept as k on e.user_token = k.user_token
    where (k.kept_until is null or e.ts > k.kept_until)
      and e.ts >= {{ sessions_read_from() }}  -- the per-user bound alone scans every day's events
),
{% else %}
with events as (
    select *, 0 as kept_sessions from {{ ref('int_events') }}
),
{% endif %}

ordered as (
    select
        user_token,
        ts,
        event_type,
        channel,
        case
            when lag(ts) over (partition by user_token order by ts, event_id) is null then 1
            when ts - lag(ts) over (partition by user_token order by ts, event_id)
                > interval '{{ gap_minutes }} minutes' then 1
            else 0
        end as is_new_session,
        event_id,
        kept_sessions
    from events
),

numbered as (
    select
        *,
        kept_sessions
        + sum(is_new_session) over (partition by user_token order by ts, event_id rows unbounded preceding)
            as session_number
    from ordered
)

select
    user_token || ':' || session_number as session_key,
    user_token,
    session_number,
    min(ts) as started_at,
    max(ts) as ended_at,
    count(*) as events,
    arg_min(channel, (ts, event_id)) as entry_channel,  -- event_id breaks ties: same answer every build
    bool_or(event_type = 'purchase') as has_purchase
from numbered
group by user_token, session_number
