-- Order-grain fact, incremental by landing batch like int_events.
{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}

select
    *,
    cast(timezone('UTC', ordered_at) as date) as order_date,
    case when status = 'paid' then amount_cents else 0 end as gmv_cents
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where batch_id not in (select distinct batch_id from {{ this }})
{% endif %}
