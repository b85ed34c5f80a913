-- Per-account counts behind mart_kol_influence: followers and distinct followers of followers
-- (followers consenting to analytics now), reach and purchases of the cascades the account
-- started (arrivals consenting at the time), and orders it referred (buyers consenting at the
-- time). Only accounts consenting to analytics now; mart_kol_influence ranks them.
-- Keyed by kol_token, not user_token: every row counts other users, so erasure recomputes this
-- table (weir.dsr._aggregates) rather than deleting one owner's row.
-- Incremental: a daily run recomputes only the accounts new follows, shares, arrivals, orders
-- or consent changes reach (touched_kol_accounts); its pre-hook deletes them first, so an
-- account left with no consented follower goes.
-- (refs in incremental-only macros: dbt infers dependencies at parse time)
-- depends_on: {{ ref('int_orders') }}, {{ ref('dim_consent') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='kol_token',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where kol_token in ({{ touched_kol_accounts() }}){% endif %}",
          post_hook="{{ record_watermark() }}") }}
{% set only %}{% if is_incremental() %}in (select user_token from touched){% endif %}{% endset %}
with {% if is_incremental() %}touched as ({{ touched_kol_accounts() }}),{% endif %}

follows as (
    select f.follower_token, f.followee_token
    from {{ ref('stg_follows') }} as f
    where {{ consented_now('analytics', 'f.follower_token') }}
),

audience as (
    select followee_token as user_token, count(distinct follower_token) as followers
    from follows
    {% if is_incremental() %}where followee_token {{ only }}{% endif %}
    group by followee_token
),

{% if is_incremental() %}
-- A few accounts: join on tokens from their followers only.
second_degree as (
    select e1.followee_token as user_token, count(distinct e2.follower_token) as second_degree_followers
    from follows as e1
    inner join follows as e2 on e1.follower_token = e2.followee_token
    where e1.followee_token {{ only }}
    group by e1.followee_token
),
{% else %}
-- Every account: millions of (user, user) pairs to count distinct. Integer ids instead of
-- 43-character tokens halve the time of that distinct count.
ids as (
    select token, cast(row_number() over () as integer) as id
    from (select follower_token as token from follows union select followee_token from follows)
),

edges as (
    select follower.id as follower_id, followee.id as followee_id
    from follows as f
    inner join ids as follower on f.follower_token = follower.token
    inner join ids as followee on f.followee_token = followee.token
),

second_degree as (
    select ids.token as user_token, n.second_degree_followers
    from (
        select e1.followee_id, count(distinct e2.follower_id) as second_degree_followers
        from edges as e1
        inner join edges as e2 on e1.follower_id = e2.followee_id
        group by e1.followee_id
    ) as n
    inner join ids on n.followee_id = ids.id
),
{% endif %}

share_reach as (
    select
        root.sharer_token as user_token,
        count(distinct e.user_token) as reached_users,
        count(distinct case when e.event_type = 'purchase' then e.order_id end) as cascade_purchases
    from {{ ref('int_share_cascades') }} as root
    inner join {{ ref('int_share_cascades') }} as s on s.root_share_id = root.share_id
    inner join {{ ref('int_events') }} as e on e.share_id = s.share_id
    where root.depth = 0 and e.channel = 'share_link' and e.event_type <> 'share'
      and {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
      {% if is_incremental() %}and root.sharer_token {{ only }}{% endif %}
    group by root.sharer_token
),

attributed as (
    select o.referrer_user_token as user_token, count(*) as attributed_orders, cast(sum(o.gmv_cents) as bigint) as attributed_gmv_cents
    from {{ ref('int_orders') }} as o
    where o.referrer_user_token is not null
      and {{ consented_at('analytics', 'o.user_token', 'o.ordered_at') }}
      {% if is_incremental() %}and o.referrer_user_token {{ only }}{% endif %}
    group by o.referrer_user_token
)

select
    a.user_token as kol_token,
    a.followers,
    coalesce(sd.second_degree_followers, 0) as second_degree_followers,
    coalesce(r.reached_users, 0) as share_reached_users,
    coalesce(r.cascade_purchases, 0) as cascade_purchases,
    coalesce(t.attributed_orders, 0) as attributed_orders,
    coalesce(t.attributed_gmv_cents, 0) as attributed_gmv_cents
from audience as a
left join second_degree as sd on a.user_token = sd.user_token
left join share_reach as r on a.user_token = r.user_token
left join attributed as t on a.user_token = t.user_token
where {{ consented_now('analytics', 'a.user_token') }}
