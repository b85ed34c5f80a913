-- Bargain-help chains per day and category: completion rate, helpers, time to complete.
with started as (
    select
        cast(timezone('UTC', b.created_at) as date) as created_on,
        coalesce(i.category, 'unknown') as category,
        b.initiator_user_token,
        b.is_completed,
        b.helpers,
        b.minutes_to_complete
    from {{ ref('int_bargain_chains') }} as b
    left join {{ ref('int_item_categories') }} as i on b.item_id = i.item_id
    where {{ consented_at('analytics', 'b.initiator_user_token', 'b.created_at') }}
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
    count(*) as bargains,
    count(case when s.is_completed then 1 end) as completed,
    count(case when s.is_completed then 1 end) / count(*) as completion_rate,
    avg(s.helpers) as avg_helpers,
    median(s.minutes_to_complete) as median_minutes_to_complete,
    count(distinct s.initiator_user_token) as initiators
from started as s
inner join cells as c on s.created_on = c.created_on and s.category = c.category
group by all
having count(distinct s.initiator_user_token) >= {{ k_anonymity() }}
