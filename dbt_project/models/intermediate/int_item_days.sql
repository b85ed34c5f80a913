-- One row per item, day, category and shop seen in behaviour, with how often: the catalogue's
-- input (int_item_categories sums it instead of re-reading every event). No consent gate:
-- it names no user. Incremental: a daily run replaces only the days its new rows fall on.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_date',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}

select
    item_id,
    event_date,
    category,
    shop_id,
    count(*) as seen
from {{ ref('int_events') }}
where item_id is not null and category is not null
{% if is_incremental() %}
  and event_date >= {{ changed_from([(ref('int_events'), 'event_date')], consent=false) }}
{% endif %}
group by item_id, event_date, category, shop_id
