-- Catalogue seen in behaviour: each item's category and shop (the most frequent one logged).
select
    item_id,
    mode(category) as category,
    mode(shop_id) as shop_id
from {{ ref('int_events') }}
where item_id is not null and category is not null
group by item_id
