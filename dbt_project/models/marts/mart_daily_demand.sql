-- Daily demand by category and shipping region: the input to demand forecasting. No cell
-- counts fewer than k buyers (see `cells`).
-- Incremental: a daily run replaces only the days new rows or consent events can change
-- (an item's category on past days is the one it had when they were built; --full-refresh relabels).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date',
          on_schema_change='fail', pre_hook="{% if is_incremental() %}{{ clear_consent_days('order_date', ref('int_orders'), 'order_date') }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}
with paid as (
    select order_date, category, region as shipping_region, quantity, gmv_cents, user_token
    from ({{ consented_paid_orders() }})
)

{# Small cells (meta counts_people): a region with fewer than k buyers of a category on a day is
   pooled into 'other' for that day and category; a pool still under k is left out. #}
{{ pooled_cells('paid', ['order_date', 'category'], 'shipping_region', 'user_token', '
    count(*) as orders,
    cast(sum(s.quantity) as bigint) as units,
    cast(sum(s.gmv_cents) as bigint) as gmv_cents', 'buyers') }}
