-- One row per user, day and channel with funnel activity (view, add to cart, purchase) under
-- analytics consent at the event's time and now: the funnel's input. The funnel's cells count
-- distinct users, so a consent change rewrites every day the user was active; summing these
-- rows (about a fifth of the events) instead of re-reading and consent-checking every event
-- keeps that rewrite cheap however long the history.
-- Incremental like dp_events: a daily run replaces the new days and, on older days, only the
-- rows of users whose consent changed (the pre-hook deletes both; the query inserts them again).
{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='fail',
          pre_hook=per_user_rewrite_hooks('event_date'),
          post_hook="{{ record_watermark() }}") }}

select
    e.event_date,
    e.channel,
    e.user_token,
    bool_or(e.event_type = 'view') as viewed,
    bool_or(e.event_type = 'add_to_cart') as carted,
    bool_or(e.event_type = 'purchase') as purchased,
    count(case when e.event_type = 'view' then 1 end) as views,
    count(case when e.event_type = 'add_to_cart' then 1 end) as carts,
    count(case when e.event_type = 'purchase' then 1 end) as purchases
{% if is_incremental() %}
from {{ new_days_and_changed_users(ref('int_events'), 'event_date', changed_from([(ref('int_events'), 'event_date')], consent=false)) }} as e
{% else %}
from {{ ref('int_events') }} as e
{% endif %}
-- Exports without a channel (most behaviour logs) keep their funnel, under channel null.
where e.event_type in ('view', 'add_to_cart', 'purchase')
  and {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
group by e.event_date, e.channel, e.user_token
