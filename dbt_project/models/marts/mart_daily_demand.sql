-- Daily demand by category and shipping region: the input to demand forecasting. No cell
-- counts fewer than k buyers (see `cells`).
-- Incremental: a daily run replaces only the days new rows or consent events can change
-- (an item's category on past days is the one it had when they were built; --full-refresh relabels).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date',
          on_schema_change='fail', pre_hook="{% if is_incremental() %}{{ clear_consent_days('order_date', ref('int_orders'), 'order_date') }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}
with paid as (
    select
        o.order_date,
        coalesce(i.category, 'unknown') as category,
        coalesce(o.shipping_region, 'unknown') as shipping_region,
        o.quantity,
        o.gmv_cents,
        o.user_token
    from {{ ref('int_orders') }} as o
    left join {{ ref('int_item_categories') }} as i on o.item_id = i.item_id
    where o.status = 'paid'
      and {{ consented_at('analytics', 'o.user_token', 'o.ordered_at') }}
    {% if is_incremental() %}
      and (o.order_date >= {{ changed_from([(ref('int_orders'), 'order_date')], consent=false) }}
           or o.order_date in {{ consent_changed_days(ref('int_orders'), 'order_date') }})
    {% endif %}
),

{# Small cells (meta counts_people): a region with fewer than k buyers of a category on a day is
   pooled into 'other' for that day and category; a pool still under k is left out. #}
cells as (
    select order_date, category, shipping_region, count(distinct user_token) >= {{ k_anonymity() }} as is_large
    from paid
    group by all
)

select
    p.order_date,
    p.category,
    case when c.is_large then p.shipping_region else 'other' end as shipping_region,
    count(*) as orders,
    cast(sum(p.quantity) as bigint) as units,
    cast(sum(p.gmv_cents) as bigint) as gmv_cents,
    count(distinct p.user_token) as buyers
from paid as p
inner join cells as c
    on p.order_date = c.order_date and p.category = c.category and p.shipping_region = c.shipping_region
group by all
having count(distinct p.user_token) >= {{ k_anonymity() }}
