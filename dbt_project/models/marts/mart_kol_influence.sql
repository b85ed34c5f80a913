-- Key opinion leaders: audience (followers and followers of followers), reach of their shares,
-- orders attributed to them, and a rank. Only users and followers consenting to analytics now.
-- The counts come from int_kol_reach (incremental: a daily run recomputes only the accounts
-- its rows touch); the centrality and the rank are over every account, so this table is
-- rebuilt from it each run (one row per account: cheap).
with total as (
    select count(distinct f.follower_token) as n
    from {{ ref('stg_follows') }} as f
    where {{ consented_now('analytics', 'f.follower_token') }}
)

select
    r.kol_token,
    r.followers,
    r.followers / nullif((select n from total), 0) as degree_centrality,
    r.second_degree_followers,
    r.share_reached_users,
    r.cascade_purchases,
    r.attributed_orders,
    r.attributed_gmv_cents,
    cast(row_number() over (order by r.followers desc, r.share_reached_users desc, r.kol_token) as integer)
        as influence_rank
from {{ ref('int_kol_reach') }} as r
where {{ consented_now('analytics', 'r.kol_token') }}
