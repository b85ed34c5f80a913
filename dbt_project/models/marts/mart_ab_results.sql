-- A/B results. Arms come from exposure events (what users actually saw), not the assignment
-- table. Two metrics per arm with 95% intervals: conversion of exposed users (a purchase
-- after first exposure) and purchase-given-cart (carts followed by a purchase in the same
-- session), plus relative lift vs control with a delta-method interval on the log ratio.
with exposures as (
    select e.experiment_id, e.user_token, arg_min(e.variant, (e.ts, e.event_id)) as variant, min(e.ts) as exposed_at
    from {{ ref('int_events') }} as e
    where e.event_type = 'exposure'
      and {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
    group by e.experiment_id, e.user_token
),

purchases as (
    select user_token, max(ts) as last_purchase_at
    from {{ ref('int_events') }}
    where event_type = 'purchase'
    group by user_token
),

carts as (
    select
        c.user_token,
        c.session_id,
        min(c.ts) as carted_at,
        bool_or(p.event_id is not null) as purchased
    from {{ ref('int_events') }} as c
    left join {{ ref('int_events') }} as p
        on p.session_id = c.session_id and p.event_type = 'purchase' and p.ts >= c.ts
    where c.event_type = 'add_to_cart'
    group by c.user_token, c.session_id
),

arms as (
    select
        x.experiment_id,
        x.variant,
        count(distinct x.user_token) as exposed_users,
        count(distinct case when p.last_purchase_at > x.exposed_at then x.user_token end) as converted_users
    from exposures as x
    left join purchases as p on x.user_token = p.user_token
    group by x.experiment_id, x.variant
),

cart_arms as (
    select x.experiment_id, x.variant, count(*) as carts, count(case when c.purchased then 1 end) as carts_purchased
    from exposures as x
    inner join carts as c on c.user_token = x.user_token and c.carted_at >= x.exposed_at
    group by x.experiment_id, x.variant
),

rates as (
    select
        a.experiment_id,
        a.variant,
        a.exposed_users,
        a.converted_users,
        {{ safe_ratio('a.converted_users', 'a.exposed_users') }} as conversion_rate,
        {{ wilson_bound('a.converted_users', 'a.exposed_users', '-') }} as conversion_ci_low,
        {{ wilson_bound('a.converted_users', 'a.exposed_users', '+') }} as conversion_ci_high,
        coalesce(c.carts, 0) as carts,
        coalesce(c.carts_purchased, 0) as carts_purchased,
        {{ safe_ratio('c.carts_purchased', 'c.carts') }} as purchase_given_cart_rate,
        {{ wilson_bound('coalesce(c.carts_purchased, 0)', 'coalesce(c.carts, 0)', '-') }} as purchase_given_cart_ci_low,
        {{ wilson_bound('coalesce(c.carts_purchased, 0)', 'coalesce(c.carts, 0)', '+') }} as purchase_given_cart_ci_high
    from arms as a
    left join cart_arms as c on a.experiment_id = c.experiment_id and a.variant = c.variant
),

lift as (
    select
        t.experiment_id,
        t.purchase_given_cart_rate / nullif(c.purchase_given_cart_rate, 0) - 1 as lift,
        sqrt(
            (1 - t.purchase_given_cart_rate) / nullif(t.carts_purchased, 0)
            + (1 - c.purchase_given_cart_rate) / nullif(c.carts_purchased, 0)
        ) as log_ratio_se
    from rates as t
    inner join rates as c on t.experiment_id = c.experiment_id and c.variant = 'control'
    where t.variant = 'treatment'
)

select
    r.*,
    case when r.variant = 'treatment' then l.lift end as purchase_given_cart_lift,
    case when r.variant = 'treatment' then exp(ln(1 + l.lift) - 1.96 * l.log_ratio_se) - 1 end as lift_ci_low,
    case when r.variant = 'treatment' then exp(ln(1 + l.lift) + 1.96 * l.log_ratio_se) - 1 end as lift_ci_high
from rates as r
left join lift as l on r.experiment_id = l.experiment_id
