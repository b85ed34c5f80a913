-- DP input: one row per paid order of a user whose analytics consent held when ordering
-- and still holds when the build runs.
-- `is_friend_referred`: the buyer came through a friend's share (the "friends bought" signal).
-- Incremental: a daily run replaces only the days new rows or consent events can change
-- (an item's category on past days is the one it had when they were built; --full-refresh relabels).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date',
          on_schema_change='fail', pre_hook="{% if is_incremental() %}{{ clear_consent_days('order_date', ref('int_orders'), 'order_date') }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}
select
    order_id,
    user_token,
    ordered_at,
    order_date,
    item_id,
    category,
    region as shipping_region,
    channel,
    gmv_cents,
    (referrer_user_token is not null or channel in ('share_link', 'group_chat')) as is_friend_referred
from ({{ consented_paid_orders() }})
