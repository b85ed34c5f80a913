-- Generated from weir/contracts/orders.yml by `weir dbt codegen`.
select
    order_id,
    user_token,
    item_id,
    shop_id,
    quantity,
    amount_cents,
    currency,
    ordered_at,
    status,
    channel,
    device_token,
    shipping_region,
    referrer_share_id,
    referrer_user_token,
    group_buy_id,
    bargain_id,
    coupon_id,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'orders') }}
