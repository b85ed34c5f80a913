-- One row per user and active day: event counts by type, the day's categories and its last
-- event. Per-user features sum these days instead of re-reading every event. No consent gate
-- here: each mart reading it applies the one its purpose needs.
-- Incremental: a daily run replaces only the days its new rows fall on (late events included).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_date',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}

select
    user_token,
    event_date,
    count(case when event_type = 'view' then 1 end) as views,
    count(case when event_type = 'add_to_cart' then 1 end) as carts,
    count(case when event_type = 'purchase' then 1 end) as purchases,
    count(case when event_type = 'share' then 1 end) as shares,
    count(case when event_type = 'like' then 1 end) as likes,
    count(case when event_type = 'live_watch' then 1 end) as live_watches,
    count(case when event_type = 'group_buy_join' then 1 end) as group_buy_joins,
    count(case when event_type = 'bargain_help' then 1 end) as bargain_helps,
    count(case when channel = 'share_link' then 1 end) as share_link_visits,
    list_sort(list_distinct(list(category))) as categories,
    max(ts) as last_event_at
from {{ ref('int_events') }}
{% if is_incremental() %}
where event_date >= {{ changed_from([(ref('int_events'), 'event_date')], consent=false) }}
{% endif %}
group by user_token, event_date
