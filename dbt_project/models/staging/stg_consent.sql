-- Generated from weir/contracts/consent.yml by `weir dbt codegen`.
select
    consent_id,
    user_token,
    purpose,
    status,
    ts,
    policy_version,
    source,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'consent') }}
