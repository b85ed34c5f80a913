-- Generated from weir/contracts/dsr.yml by `weir dbt codegen`.
select
    request_id,
    user_token,
    request_type,
    received_at,
    deadline_at,
    channel,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'dsr') }}
