-- One row per share campaign (a cascade grown from one root share): depth, breadth, reach,
-- purchases and K-factor (child shares per share). Only consented shares and arrivals count.
-- Incremental: a daily run recomputes only the campaigns its rows or consent events touch.
-- Not published (most campaigns reach fewer than k people): the DP input dp_share_cascades
-- reads every campaign; mart_share_cascades publishes those without a small cell.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='campaign_id',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where campaign_id in ({{ touched_campaigns() }}){% endif %}",
          post_hook="{{ record_watermark() }}") }}
{% set touched %}{% if is_incremental() %}and s.root_share_id in ({{ touched_campaigns() }}){% endif %}{% endset %}
with shares as (
    select s.*
    from {{ ref('int_share_cascades') }} as s
    where not s.is_unrooted
      and {{ consented_at('analytics', 's.sharer_token', 's.shared_at') }}
      {{ touched }}
),

arrivals as (
    select
        s.root_share_id,
        count(distinct e.user_token) as reached_users,
        count(distinct case when e.event_type = 'purchase' then e.user_token end) as purchasers
    from {{ ref('int_events') }} as e
    inner join {{ ref('int_share_cascades') }} as s on e.share_id = s.share_id
    where e.channel = 'share_link' and e.event_type <> 'share' and not s.is_unrooted
      and {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
      {{ touched }}
    group by s.root_share_id
),

levels as (
    select root_share_id, depth, count(*) as shares_at_depth
    from shares
    group by root_share_id, depth
)

select
    r.share_id as campaign_id,
    r.item_id,
    r.category,
    cast(timezone('UTC', r.shared_at) as date) as started_on,
    count(s.share_id) as shares,
    max(s.depth) as max_depth,
    (select max(l.shares_at_depth) from levels as l where l.root_share_id = r.share_id) as breadth,
    coalesce(any_value(a.reached_users), 0) as reached_users,
    coalesce(any_value(a.purchasers), 0) as purchasers,
    {{ k_factor('count(s.share_id)') }} as k_factor,
    {{ safe_ratio('count(s.share_id) - 1', 'coalesce(any_value(a.reached_users), 0)') }} as fission_rate,
    {{ computed_at() }}
from shares as r
inner join shares as s on s.root_share_id = r.share_id
left join arrivals as a on a.root_share_id = r.share_id
where r.depth = 0
group by r.share_id, r.item_id, r.category, r.shared_at
