-- Catalogue seen in behaviour: each item's category and shop (the most frequent one logged;
-- ties go to the first name, so full and incremental builds agree: `mode()` picks at random).
-- Counts come from the per-day sightings, so a daily run reads items × days, not every event.
with categories as (
    select item_id, category, sum(seen) as seen
    from {{ ref('int_item_days') }}
    group by item_id, category
),

shops as (
    select item_id, shop_id, sum(seen) as seen
    from {{ ref('int_item_days') }}
    where shop_id is not null
    group by item_id, shop_id
),

top_category as (
    select item_id, first(category order by seen desc, category) as category
    from categories
    group by item_id
),

top_shop as (
    select item_id, first(shop_id order by seen desc, shop_id) as shop_id
    from shops
    group by item_id
)

select
    top_category.item_id,
    top_category.category,
    top_shop.shop_id
from top_category
left join top_shop on top_category.item_id = top_shop.item_id
