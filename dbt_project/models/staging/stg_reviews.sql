-- Generated from weir/contracts/reviews.yml by `weir dbt codegen`.
select
    review_id,
    user_token,
    item_id,
    order_id,
    rating,
    text,
    created_at,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'reviews') }}
