-- Order-grain fact, incremental by landing batch like int_events.
{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}

{%- set rates = var('fx_rates') %}
select
    o.*,
    cast(timezone('UTC', o.ordered_at) as date) as order_date,
    -- In the reporting currency (var fx_rates); null when the order's currency has no rate.
    case when o.status = 'paid' then round(o.amount_cents * fx.rate)::bigint else 0 end as gmv_cents
from {{ ref('stg_orders') }} as o
left join (
    values {% for code, rate in rates.items() %}('{{ code }}', {{ rate | float }}){{ ", " if not loop.last }}{% endfor %}
) as fx (currency, rate)
    on fx.currency = coalesce(o.currency, '{{ var("reporting_currency") }}')
{% if is_incremental() %}
where {{ loaded_after_latest() }}
{% endif %}
