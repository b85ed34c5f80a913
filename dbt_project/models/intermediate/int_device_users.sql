-- One row per device and account seen together in events or orders: the device graph of the
-- fraud signals. Not consent-gated (fraud prevention is a legitimate interest, as in the mart).
-- Incremental: a pair, once seen, stays seen, so a daily run appends only the new rows' new pairs.
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          post_hook="{{ record_watermark() }}") }}

with seen as (
    select device_token, user_token
    from {{ ref('int_events') }}
    where device_token is not null
    {% if is_incremental() %}and {{ loaded_since_watermark() }}{% endif %}
    union
    select device_token, user_token
    from {{ ref('int_orders') }}
    where device_token is not null
    {% if is_incremental() %}and {{ loaded_since_watermark() }}{% endif %}
)

select seen.device_token, seen.user_token
from seen
{% if is_incremental() %}
anti join {{ this }} as known
    on seen.device_token = known.device_token and seen.user_token = known.user_token
{% endif %}
