-- One row per share: its cascade (root share), depth, and what it brought.
-- A share's parent is the share its sharer arrived through. Walking up from roots with a
-- path guard keeps circular shares (a fraud pattern) out of every cascade: they have no root.
with shares as (
    select share_id, parent_share_id, user_token as sharer_token, ts as shared_at, item_id, category
    from {{ ref('int_events') }}
    where event_type = 'share'
),

-- The recursion sits in a subquery: dbt unit tests prepend fixture CTEs to the top-level WITH,
-- which would drop a top-level RECURSIVE keyword.
tree as (
    select * from (
        with recursive walk (share_id, root_share_id, depth, path) as (
            select share_id, share_id, 0, [share_id]
            from shares
            where parent_share_id is null
            union all
            select s.share_id, w.root_share_id, w.depth + 1, list_append(w.path, s.share_id)
            from shares as s
            inner join walk as w on s.parent_share_id = w.share_id
            where w.depth < 64 and not list_contains(w.path, s.share_id)
        )
        select share_id, root_share_id, depth from walk
    )
),

arrivals as (
    select
        share_id,
        count(distinct user_token) as reached_users,
        count(distinct case when event_type = 'purchase' then user_token end) as purchasers,
        count(case when event_type = 'purchase' then 1 end) as purchases
    from {{ ref('int_events') }}
    where channel = 'share_link' and share_id is not null and event_type <> 'share'
    group by share_id
),

children as (
    select parent_share_id as share_id, count(*) as child_shares
    from shares
    where parent_share_id is not null
    group by parent_share_id
)

select
    s.share_id,
    s.parent_share_id,
    t.root_share_id,
    t.depth,
    t.root_share_id is null as is_unrooted,
    s.sharer_token,
    s.shared_at,
    s.item_id,
    s.category,
    coalesce(a.reached_users, 0) as reached_users,
    coalesce(a.purchasers, 0) as purchasers,
    coalesce(a.purchases, 0) as purchases,
    coalesce(c.child_shares, 0) as child_shares
from shares as s
left join tree as t on s.share_id = t.share_id
left join arrivals as a on s.share_id = a.share_id
left join children as c on s.share_id = c.share_id
