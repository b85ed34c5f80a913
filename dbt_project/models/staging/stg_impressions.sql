-- Generated from weir/contracts/impressions.yml by `weir dbt codegen`.
select
    impression_id,
    user_token,
    item_id,
    shown_at,
    position,
    badge,
    friends_count,
    is_clicked,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'impressions') }}
