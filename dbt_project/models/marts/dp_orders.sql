-- DP input: one row per paid order of a user whose analytics consent held when ordering
-- and still holds when the build runs.
-- `is_friend_referred`: the buyer came through a friend's share (the "friends bought" signal).
-- Incremental: a daily run replaces only the days new rows or consent events can change
-- (an item's category on past days is the one it had when they were built; --full-refresh relabels).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date',
          on_schema_change='fail', pre_hook="{% if is_incremental() %}{{ clear_consent_days('order_date', ref('int_orders'), 'order_date') }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}
select
    o.order_id,
    o.user_token,
    o.ordered_at,
    o.order_date,
    o.item_id,
    coalesce(i.category, 'unknown') as category,
    coalesce(o.shipping_region, 'unknown') as shipping_region,
    o.channel,
    o.gmv_cents,
    (o.referrer_user_token is not null or o.channel in ('share_link', 'group_chat')) as is_friend_referred
from {{ ref('int_orders') }} as o
left join {{ ref('int_item_categories') }} as i on o.item_id = i.item_id
where o.status = 'paid'
  and {{ consented_at('analytics', 'o.user_token', 'o.ordered_at') }}
{% if is_incremental() %}
  and (o.order_date >= {{ changed_from([(ref('int_orders'), 'order_date')], consent=false) }}
       or o.order_date in {{ consent_changed_days(ref('int_orders'), 'order_date') }})
{% endif %}
