-- Generated from weir/contracts/users.yml by `weir dbt codegen`.
select
    user_token,
    phone_token,
    email_token,
    age_band,
    region,
    country_code,
    locale,
    signup_at,
    _batch_id as batch_id,
    _loaded_at as loaded_at
from {{ source('raw', 'users') }}
