-- Published per-order attribution, k-anonymous against anyone holding the source orders: the
-- exact order time, item and amount would join each row back to its order and so re-identify
-- the buyer's token (weir/mart_gate.py checks it). Time, item and amount are coarsened to the
-- quasi-identifiers week, category and GMV band (meta.quasi_identifiers); a buyer in a class of
-- fewer than k buyers is left out, and sharers (and their share tokens) in a class of fewer
-- than k sharers are withheld. Consent at the order's time was checked on the exact times
-- upstream (int_order_attributions).
-- Incremental: a daily run rebuilds only the weeks of the orders its rows or consent events
-- touch, each week whole (its classes are within a week; an item's category on past weeks is
-- the one it had when they were built; --full-refresh relabels).
-- (refs in incremental-only macros: dbt infers dependencies at parse time)
-- depends_on: {{ ref('int_orders') }}, {{ ref('int_events') }}, {{ ref('int_share_cascades') }}, {{ ref('dim_consent') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_week',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where order_week in ({{ touched_order_weeks() }}){% endif %}",
          post_hook="{{ record_watermark() }}") }}
{# the declared quasi-identifiers (the YAML is the one place); parsing renders no real SQL #}
{% set quasi_identifiers = model.config.meta.quasi_identifiers if execute else ['order_id'] %}
{% set k = k_anonymity() %}

with orders as (
    select
        a.order_id,
        a.user_token,
        cast(date_trunc('week', a.order_date) as date) as order_week,
        c.category,
        cast(case
            when a.gmv_cents < 5000 then 0
            when a.gmv_cents < 20000 then 5000
            when a.gmv_cents < 100000 then 20000
            else 100000
        end as bigint) as gmv_band_cents,
        a.first_touch_share_id,
        a.first_touch_sharer_token,
        a.last_touch_share_id,
        a.last_touch_sharer_token,
        a.is_share_attributed
    from {{ ref('int_order_attributions') }} as a
    left join {{ ref('int_item_categories') }} as c on a.item_id = c.item_id
    {% if is_incremental() %}
    where cast(date_trunc('week', a.order_date) as date) in ({{ touched_order_weeks() }})
    {% endif %}
),

classes as (
    select
        *,
        {{ class_size('user_token', quasi_identifiers) }} as buyers,
        {{ class_size('first_touch_sharer_token', quasi_identifiers) }} as first_sharers,
        {{ class_size('last_touch_sharer_token', quasi_identifiers) }} as last_sharers
    from orders
)

select
    order_id,
    user_token,
    order_week,
    category,
    gmv_band_cents,
    case when first_sharers >= {{ k }} then first_touch_share_id end as first_touch_share_id,
    case when first_sharers >= {{ k }} then first_touch_sharer_token end as first_touch_sharer_token,
    case when last_sharers >= {{ k }} then last_touch_share_id end as last_touch_share_id,
    case when last_sharers >= {{ k }} then last_touch_sharer_token end as last_touch_sharer_token,
    is_share_attributed,
    {{ computed_at() }}
from classes
where buyers >= {{ k }}
