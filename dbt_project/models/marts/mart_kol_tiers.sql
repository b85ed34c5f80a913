-- The published view of KOL influence: audience tiers by order of magnitude of followers.
-- Per-account rows stay in mart_kol_influence, unpublished: exact follower counts (reproduced
-- by anyone holding the follows graph, or reading public profiles) would single out each
-- kol_token and, through it, the account's rows in other published marts. A tier of fewer
-- than k accounts would describe one or two known accounts, so it is left out.
{% set k = k_anonymity() %}

with tiered as (
    select
        cast(10 ** (length(cast(i.followers as varchar)) - 1) as bigint) as follower_tier,
        i.followers,
        i.share_reached_users,
        i.cascade_purchases,
        i.attributed_orders,
        i.attributed_gmv_cents
    from {{ ref('mart_kol_influence') }} as i
),

tiers as (
    select
        follower_tier,
        count(*) as accounts,
        cast(sum(followers) as bigint) as followers,
        cast(sum(share_reached_users) as bigint) as share_reached_users,
        cast(sum(cascade_purchases) as bigint) as cascade_purchases,
        cast(sum(attributed_orders) as bigint) as attributed_orders,
        cast(sum(attributed_gmv_cents) as bigint) as attributed_gmv_cents
    from tiered
    group by follower_tier
)

select * from tiers
where accounts >= {{ k }}
