-- Generated from weir/contracts/follows.yml by `weir dbt codegen`.
select
    follower_token,
    followee_token,
    followed_at,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'follows') }}
