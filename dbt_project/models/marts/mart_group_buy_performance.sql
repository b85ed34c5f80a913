-- Group buys per day and category: how many filled, and how fast.
with started as (
    select
        cast(timezone('UTC', g.created_at) as date) as created_on,
        coalesce(i.category, 'unknown') as category,
        g.initiator_user_token,
        g.is_filled,
        g.minutes_to_fill,
        g.joiners
    from {{ ref('int_group_buy_outcomes') }} as g
    left join {{ ref('int_item_categories') }} as i on g.item_id = i.item_id
    where {{ consented_at('analytics', 'g.initiator_user_token', 'g.created_at') }}
),

{# Small cells (meta counts_people): a category with fewer than k initiators on a day is pooled
   into 'other' for that day; a pool still under k is left out. #}
cells as (
    select created_on, category, count(distinct initiator_user_token) >= {{ k_anonymity() }} as is_large
    from started
    group by all
)

select
    s.created_on,
    case when c.is_large then s.category else 'other' end as category,
    count(*) as group_buys,
    count(case when s.is_filled then 1 end) as filled,
    count(case when s.is_filled then 1 end) / count(*) as success_rate,
    median(s.minutes_to_fill) as median_minutes_to_fill,
    avg(s.joiners) as avg_joiners,
    count(distinct s.initiator_user_token) as initiators
from started as s
inner join cells as c on s.created_on = c.created_on and s.category = c.category
group by all
having count(distinct s.initiator_user_token) >= {{ k_anonymity() }}
