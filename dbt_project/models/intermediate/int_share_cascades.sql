-- One row per share: its cascade (root share), depth, and what it brought.
-- A share's parent is the share its sharer arrived through. Walking up from roots with a
-- path guard keeps circular shares (a fraud pattern) out of every cascade: they have no root.
-- Incremental: a daily run rewrites only the shares its new rows touch (new shares, their
-- parents' child counts, shares new arrivals came through) and walks only from where new
-- shares hang: a kept cascade's share, or a new root. Shares not yet in a cascade (circular,
-- or waiting for a late parent) are walked again each run, since a parent may arrive.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='share_id',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}

with shares as (
    select share_id, parent_share_id, user_token as sharer_token, ts as shared_at, item_id, category
    from {{ ref('int_events') }}
    where event_type = 'share'
),

{% if is_incremental() %}
new_rows as (
    select event_type, channel, share_id, parent_share_id
    from {{ ref('int_events') }}
    where {{ loaded_since_watermark() }}
),

-- shares whose root or depth can change
regrown as (
    select share_id from new_rows where event_type = 'share'
    union
    select share_id from {{ this }} where is_unrooted
),

touched as (
    select share_id from regrown
    union
    select parent_share_id from new_rows where event_type = 'share' and parent_share_id is not null
    union
    select share_id from new_rows where channel = 'share_link' and share_id is not null and event_type <> 'share'
),

-- where the walk starts: regrown roots, and regrown shares whose parent is in a kept cascade
seeds as (
    select s.share_id, coalesce(p.root_share_id, s.share_id) as root_share_id, coalesce(p.depth + 1, 0) as depth
    from shares as s
    left join {{ this }} as p on s.parent_share_id = p.share_id and not p.is_unrooted and p.depth < 64
    where s.share_id in (select share_id from regrown)
      and (s.parent_share_id is null or p.share_id is not null)
),

walked as (
    select * from shares where share_id in (select share_id from regrown)
),

{% else %}
seeds as (
    select share_id, share_id as root_share_id, 0 as depth from shares where parent_share_id is null
),

walked as (
    select * from shares
),

{% endif %}
-- The recursion sits in a subquery: dbt unit tests prepend fixture CTEs to the top-level WITH,
-- which would drop a top-level RECURSIVE keyword.
tree as (
    select * from (
        with recursive walk (share_id, root_share_id, depth, path) as (
            select share_id, root_share_id, depth, [share_id]
            from seeds
            union all
            select s.share_id, w.root_share_id, w.depth + 1, list_append(w.path, s.share_id)
            from walked as s
            inner join walk as w on s.parent_share_id = w.share_id
            where w.depth < 64 and not list_contains(w.path, s.share_id)
        )
        select share_id, root_share_id, depth from walk
    )
    {% if is_incremental() %}
    union all
    select share_id, root_share_id, depth
    from {{ this }}
    where share_id in (select share_id from touched) and share_id not in (select share_id from regrown)
    {% endif %}
),

arrivals as (
    select
        share_id,
        count(distinct user_token) as reached_users,
        count(distinct case when event_type = 'purchase' then user_token end) as purchasers,
        count(case when event_type = 'purchase' then 1 end) as purchases
    from {{ ref('int_events') }}
    where channel = 'share_link' and share_id is not null and event_type <> 'share'
    {% if is_incremental() %}and share_id in (select share_id from touched){% endif %}
    group by share_id
),

children as (
    select parent_share_id as share_id, count(*) as child_shares
    from shares
    where parent_share_id is not null
    {% if is_incremental() %}and parent_share_id in (select share_id from touched){% endif %}
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
{% if is_incremental() %}
where s.share_id in (select share_id from touched)
{% endif %}
