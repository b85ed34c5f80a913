-- Bargain-help chains per day and category: completion rate, helpers, time to complete.
select
    cast(timezone('UTC', b.created_at) as date) as created_on,
    i.category,
    count(*) as bargains,
    count(case when b.is_completed then 1 end) as completed,
    count(case when b.is_completed then 1 end) / count(*) as completion_rate,
    avg(b.helpers) as avg_helpers,
    median(b.minutes_to_complete) as median_minutes_to_complete
from {{ ref('int_bargain_chains') }} as b
left join {{ ref('int_item_categories') }} as i on b.item_id = i.item_id
where {{ consented_at('analytics', 'b.initiator_user_token', 'b.created_at') }}
group by all
