-- Order-grain fact, incremental by landing batch like int_events.
{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}

select
    *,
    cast(timezone('UTC', ordered_at) as date) as order_date,
    case when status = 'paid' then amount_cents else 0 end as gmv_cents
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where {{ loaded_after_latest() }}
{% endif %}
