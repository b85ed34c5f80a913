-- Group buys per day and category: how many filled, and how fast.
select
    cast(timezone('UTC', g.created_at) as date) as created_on,
    i.category,
    count(*) as group_buys,
    count(case when g.is_filled then 1 end) as filled,
    count(case when g.is_filled then 1 end) / count(*) as success_rate,
    median(g.minutes_to_fill) as median_minutes_to_fill,
    avg(g.joiners) as avg_joiners
from {{ ref('int_group_buy_outcomes') }} as g
left join {{ ref('int_item_categories') }} as i on g.item_id = i.item_id
where {{ consented_at('analytics', 'g.initiator_user_token', 'g.created_at') }}
group by all
