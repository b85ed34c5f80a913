-- Sessionisation from behaviour alone: a user's new session starts after 30 minutes of
-- inactivity (the app's own session ids are not trusted across devices).
{% set gap_minutes = var('session_gap_minutes', 30) %}

with ordered as (
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
        event_id
    from {{ ref('int_events') }}
),

numbered as (
    select
        *,
        sum(is_new_session) over (partition by user_token order by ts, event_id rows unbounded preceding)
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
    arg_min(channel, ts) as entry_channel,
    bool_or(event_type = 'purchase') as has_purchase
from numbered
group by user_token, session_number
