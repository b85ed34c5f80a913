-- Generated from weir/contracts/live_streams.yml by `weir dbt codegen`.
select
    live_stream_id,
    host_user_token,
    item_id,
    started_at,
    ended_at,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'live_streams') }}
