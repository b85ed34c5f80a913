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
),

-- Purchase propensity (federated/): the label is a purchase in the data's last 7 days (the
-- latter half of a shorter history); the model's features count only what came before that
-- window, so the label never leaks in.
label_window as (
    select max(event_date) - cast(least(6, (max(event_date) - min(event_date)) // 2) as integer) as label_from
    from {{ ref('int_user_days') }}
),

before_window as (
    select
        d.user_token,
        min(d.event_date) as first_active_date,
        cast(sum(d.views) as bigint) as prior_views,
        cast(sum(d.carts) as bigint) as prior_carts,
        cast(sum(d.purchases) as bigint) as prior_purchases,
        cast(sum(d.group_buy_joins) as bigint) as prior_group_buy_joins,
        cast(sum(d.share_link_visits) as bigint) as share_link_visits,
        count(*) as prior_active_days
    from {{ ref('int_user_days') }} as d
    cross join label_window as w
    where d.event_date < w.label_from
    group by d.user_token
),

in_window as (
    select distinct d.user_token
    from {{ ref('int_user_days') }} as d
    cross join label_window as w
    where d.event_date >= w.label_from and d.purchases > 0
),

prior_follows as (
    select f.follower_token, f.followee_token
    from {{ ref('stg_follows') }} as f
    cross join label_window as w
    where cast(timezone('UTC', f.followed_at) as date) < w.label_from
),

friend_signals as (
    select
        pf.follower_token as user_token,
        count(distinct case when bw.prior_purchases > 0 then pf.followee_token end) as friends_purchased,
        {# A KOL is a followee with at least 20 followers (mart_kol_influence ranks the same audience). #}
        count(distinct case when s.followers >= 20 then pf.followee_token end) as kol_follows
    from prior_follows as pf
    left join before_window as bw on pf.followee_token = bw.user_token
    left join social as s on pf.followee_token = s.user_token
    group by pf.follower_token
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
    b.last_active_at,
    bw.first_active_date,
    coalesce(bw.prior_views, 0) as prior_views,
    coalesce(bw.prior_carts, 0) as prior_carts,
    coalesce(bw.prior_purchases, 0) as prior_purchases,
    coalesce(bw.prior_group_buy_joins, 0) as prior_group_buy_joins,
    coalesce(bw.prior_active_days, 0) as prior_active_days,
    coalesce(bw.share_link_visits, 0) as share_link_visits,
    coalesce(fs.friends_purchased, 0) as friends_purchased,
    coalesce(fs.kol_follows, 0) as kol_follows,
    iw.user_token is not null as purchased_next_7d
from {{ ref('stg_users') }} as u
left join behaviour as b on u.user_token = b.user_token
left join category_counts as c on u.user_token = c.user_token
left join spend as p on u.user_token = p.user_token
left join sessions as s on u.user_token = s.user_token
left join social as f on u.user_token = f.user_token
left join before_window as bw on u.user_token = bw.user_token
left join in_window as iw on u.user_token = iw.user_token
left join friend_signals as fs on u.user_token = fs.user_token
where {{ consented_now('model_training', 'u.user_token') }}
