-- One row of behaviour features per user for model training: only users who grant
-- model_training now (a withdrawal removes the user from the next training set).
with behaviour as (
    select
        user_token,
        cast(sum(views) as bigint) as views,
        cast(sum(carts) as bigint) as carts,
        cast(sum(purchases) as bigint) as purchases,
        cast(sum(shares) as bigint) as shares,
        cast(sum(likes) as bigint) as likes,
        cast(sum(live_watches) as bigint) as live_watches,
        cast(sum(group_buy_joins) as bigint) as group_buy_joins,
        cast(sum(bargain_helps) as bigint) as bargain_helps,
        count(*) as active_days,
        max(last_event_at) as last_active_at
    from {{ ref('int_user_days') }}
    group by user_token
),

category_counts as (
    select user_token, count(distinct category) as distinct_categories
    from (select user_token, unnest(categories) as category from {{ ref('int_user_days') }})
    group by user_token
),

spend as (
    select user_token, count(*) as orders, cast(sum(gmv_cents) as bigint) as gmv_cents
    from {{ ref('int_orders') }}
    group by user_token
),

sessions as (
    select user_token, count(*) as sessions, avg(events) as events_per_session
    from {{ ref('int_sessions') }}
    group by user_token
),

social as (
    select followee_token as user_token, count(*) as followers
    from {{ ref('stg_follows') }}
    group by followee_token
)

select
    u.user_token,
    u.age_band,
    u.region,
    coalesce(b.views, 0) as views,
    coalesce(b.carts, 0) as carts,
    coalesce(b.purchases, 0) as purchases,
    coalesce(b.shares, 0) as shares,
    coalesce(b.likes, 0) as likes,
    coalesce(b.live_watches, 0) as live_watches,
    coalesce(b.group_buy_joins, 0) as group_buy_joins,
    coalesce(b.bargain_helps, 0) as bargain_helps,
    coalesce(c.distinct_categories, 0) as distinct_categories,
    coalesce(b.active_days, 0) as active_days,
    coalesce(s.sessions, 0) as sessions,
    coalesce(s.events_per_session, 0) as events_per_session,
    coalesce(p.orders, 0) as orders,
    coalesce(p.gmv_cents, 0) as gmv_cents,
    coalesce(f.followers, 0) as followers,
    b.last_active_at
from {{ ref('stg_users') }} as u
left join behaviour as b on u.user_token = b.user_token
left join category_counts as c on u.user_token = c.user_token
left join spend as p on u.user_token = p.user_token
left join sessions as s on u.user_token = s.user_token
left join social as f on u.user_token = f.user_token
where {{ consented_now('model_training', 'u.user_token') }}
