-- Generated from weir/contracts/group_buys.yml by `weir dbt codegen`.
select
    group_buy_id,
    initiator_user_token,
    item_id,
    required_size,
    created_at,
    expires_at,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'group_buys') }}
