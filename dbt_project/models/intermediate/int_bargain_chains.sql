-- A bargain completes when `helps_needed` helps arrive before it expires. Each bargain_help
-- event is a help the app accepted (it logs no refused helps).
with ranked as (
    select
        bargain_id,
        user_token,
        ts as helped_at,
        row_number() over (partition by bargain_id order by ts, event_id) as help_rank
    from {{ ref('int_events') }}
    where event_type = 'bargain_help'
),

chains as (
    select
        b.bargain_id,
        count(r.user_token) as helpers,
        max(case when r.help_rank = b.helps_needed then r.helped_at end) as completed_at
    from {{ ref('stg_bargains') }} as b
    left join ranked as r on b.bargain_id = r.bargain_id and r.helped_at < b.expires_at
    group by b.bargain_id
)

select
    b.bargain_id,
    b.initiator_user_token,
    b.item_id,
    b.helps_needed,
    b.created_at,
    b.expires_at,
    c.helpers,
    c.completed_at,
    c.completed_at is not null as is_completed,
    date_diff('second', b.created_at, c.completed_at) / 60.0 as minutes_to_complete
from {{ ref('stg_bargains') }} as b
inner join chains as c on b.bargain_id = c.bargain_id
