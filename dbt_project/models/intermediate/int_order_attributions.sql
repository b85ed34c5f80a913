-- Orders attributed to the shares that brought the buyer to the item: first touch and last
-- touch within the attribution window, next to the app's own referrer. Buyers and sharers
-- appear only with analytics consent at the time of their action, checked here on the exact
-- order and share times, which the published mart (mart_referral_attribution) coarsens away.
-- Incremental: a daily run recomputes only the orders its rows or consent events touch; its
-- pre-hook first deletes the orders of buyers whose consent changed (a withdrawn buyer's
-- orders return no rows, and delete+insert alone would keep them).
-- (refs in incremental-only macros: dbt infers dependencies at parse time)
-- depends_on: {{ ref('dim_consent') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_id',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where user_token in ({{ analytics_consent_changed() }}){% endif %}",
          post_hook="{{ record_watermark() }}") }}
{% set window_days = var('attribution_window_days', 7) %}

with orders as (
    select o.order_id, o.user_token, o.item_id, o.ordered_at, o.order_date, o.gmv_cents, o.referrer_share_id
    from {{ ref('int_orders') }} as o
    where {{ consented_at('analytics', 'o.user_token', 'o.ordered_at') }}
    {% if is_incremental() %}
      and o.order_id in ({{ touched_orders(this) }})
    {% endif %}
),

touches as (
    select o.order_id, e.share_id, e.ts
    from orders as o
    inner join {{ ref('int_events') }} as e
        on e.user_token = o.user_token and e.item_id = o.item_id
    where e.channel = 'share_link' and e.share_id is not null and e.event_type <> 'share'
      and e.ts <= o.ordered_at and e.ts > o.ordered_at - interval '{{ window_days }} days'
),

ends as (
    -- share_id breaks ties between touches at the same time: the same answer every build
    select order_id, arg_min(share_id, (ts, share_id)) as first_share_id, arg_max(share_id, (ts, share_id)) as last_share_id
    from touches
    group by order_id
),

sharers as (
    select s.share_id, s.sharer_token
    from {{ ref('int_share_cascades') }} as s
    where {{ consented_at('analytics', 's.sharer_token', 's.shared_at') }}
)

select
    o.order_id,
    o.user_token,
    o.item_id,
    o.ordered_at,
    o.order_date,
    o.gmv_cents,
    t.first_share_id as first_touch_share_id,
    fs.sharer_token as first_touch_sharer_token,
    t.last_share_id as last_touch_share_id,
    ls.sharer_token as last_touch_sharer_token,
    o.referrer_share_id as app_referrer_share_id,
    t.order_id is not null as is_share_attributed
from orders as o
left join ends as t on o.order_id = t.order_id
left join sharers as fs on t.first_share_id = fs.share_id
left join sharers as ls on t.last_share_id = ls.share_id
