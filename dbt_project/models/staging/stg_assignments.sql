-- Generated from weir/contracts/assignments.yml by `weir dbt codegen`.
select
    experiment_id,
    user_token,
    variant,
    assigned_at,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'assignments') }}
