-- A group buy fills when required_size members (the initiator's own join included) join before it expires.
with joins as (
    select
        e.group_buy_id,
        e.user_token,
        e.ts,
        row_number() over (partition by e.group_buy_id order by e.ts, e.event_id) as join_rank
    from {{ ref('int_events') }} as e
    where e.event_type = 'group_buy_join'
),

outcomes as (
    select
        g.group_buy_id,
        count(j.user_token) as joiners,
        max(case when j.join_rank = g.required_size then j.ts end) as filled_at
    from {{ ref('stg_group_buys') }} as g
    left join joins as j on g.group_buy_id = j.group_buy_id and j.ts < g.expires_at
    group by g.group_buy_id
)

select
    g.group_buy_id,
    g.initiator_user_token,
    g.item_id,
    g.required_size,
    g.created_at,
    g.expires_at,
    o.joiners,
    o.filled_at,
    o.filled_at is not null as is_filled,
    date_diff('second', g.created_at, o.filled_at) / 60.0 as minutes_to_fill
from {{ ref('stg_group_buys') }} as g
inner join outcomes as o on g.group_buy_id = o.group_buy_id
