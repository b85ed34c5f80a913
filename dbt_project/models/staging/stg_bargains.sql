-- Generated from weir/contracts/bargains.yml by `weir dbt codegen`.
select
    bargain_id,
    initiator_user_token,
    item_id,
    helps_needed,
    created_at,
    expires_at,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'bargains') }}
