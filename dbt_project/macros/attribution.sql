{# The orders whose attribution rows loaded since the model's watermark can change: new
   orders; orders of buyers whose analytics consent changed; orders of buyers with new
   share-link arrivals on the item within the window before the order (late events too); and
   orders attributed (in `attributions`) to a share that is new or whose sharer's consent
   changed (the sharer's token shows only while their consent holds). #}
{% macro touched_orders(attributions) -%}
    {%- set changed = analytics_consent_changed() -%}
    select o.order_id from {{ ref('int_orders') }} as o
    where {{ loaded_since_watermark('o') }} or o.user_token in ({{ changed }})
    union
    select o.order_id from {{ ref('int_orders') }} as o
    inner join {{ ref('int_events') }} as e on e.user_token = o.user_token and e.item_id = o.item_id
    where {{ loaded_since_watermark('e') }} and e.channel = 'share_link' and e.share_id is not null
      and e.event_type <> 'share'
      and e.ts <= o.ordered_at and e.ts > o.ordered_at - interval '{{ var('attribution_window_days', 7) }} days'
    union
    {#- Two semi-joins, not a join on `first = s or last = s`: DuckDB runs an OR join condition as
        a nested loop over every attribution and share (8 s of a 3M-event daily build). #}
    {%- set hit_shares %}
        select s.share_id from {{ ref('int_share_cascades') }} as s
        where s.sharer_token in ({{ changed }})
           or s.share_id in (
               select e.share_id from {{ ref('int_events') }} as e
               where e.event_type = 'share' and {{ loaded_since_watermark('e') }})
    {%- endset %}
    select a.order_id from {{ attributions }} as a
    where a.first_touch_share_id in ({{ hit_shares }}) or a.last_touch_share_id in ({{ hit_shares }})
{%- endmacro %}

{# The order weeks mart_referral_attribution rebuilds, each week whole (its k-anonymity classes
   are within a week): the weeks of the orders touched_orders names. #}
{% macro touched_order_weeks() -%}
    select distinct cast(date_trunc('week', o.order_date) as date) from {{ ref('int_orders') }} as o
    where o.order_id in ({{ touched_orders(ref('int_order_attributions')) }})
{%- endmacro %}

{# The users whose analytics consent changed since the model's watermark. #}
{% macro analytics_consent_changed() -%}
    select user_token from {{ ref('dim_consent') }}
    where purpose = 'analytics' and loaded_at > {{ watermark() }}
{%- endmacro %}

{# The accounts whose int_kol_reach counts rows loaded since its watermark can change. A new
   follow, or any follow of a user whose analytics consent changed (their follows count only
   while it holds), changes the followee's followers and the second-degree followers of the
   followee's own followees. Reach: the root sharers of the campaigns new rows or consent
   changes touch. Referrals: the referrers of new orders and of orders by users whose consent
   changed. And the users whose consent changed: it gates their own row. #}
{% macro touched_kol_accounts() -%}
    {%- set changed = analytics_consent_changed() -%}
    select f.followee_token as user_token from {{ ref('stg_follows') }} as f
    where {{ loaded_since_watermark('f') }} or f.follower_token in ({{ changed }})
    union
    select f2.followee_token from {{ ref('stg_follows') }} as f2
    where f2.follower_token in (
        select f.followee_token from {{ ref('stg_follows') }} as f
        where {{ loaded_since_watermark('f') }} or f.follower_token in ({{ changed }}))
    union
    select s.sharer_token from {{ ref('int_share_cascades') }} as s
    where s.share_id in ({{ touched_campaigns() }})
    union
    select o.referrer_user_token from {{ ref('int_orders') }} as o
    where o.referrer_user_token is not null
      and ({{ loaded_since_watermark('o') }} or o.user_token in ({{ changed }}))
    union
    {{ changed }}
{%- endmacro %}

{# The accounts whose fraud signals rows loaded since mart_fraud_signals' watermark can change:
   every account on a device new events or orders used (device sizes, order bursts), helpers
   of new bargain helps and of bargains that are new or whose initiator is such an account
   (farm helps), and sharers of shares in no cascade (circular shares: walked again each
   run, with the accounts flagged for them before). #}
{% macro touched_fraud_accounts() -%}
    {%- set on_active_devices -%}
        select du.user_token from {{ ref('int_device_users') }} as du
        where du.device_token in (
            select e.device_token from {{ ref('int_events') }} as e where {{ loaded_since_watermark('e') }}
            union
            select o.device_token from {{ ref('int_orders') }} as o where {{ loaded_since_watermark('o') }})
    {%- endset -%}
    {{ on_active_devices }}
    union
    select h.user_token from {{ ref('int_events') }} as h
    where h.event_type = 'bargain_help' and (
        {{ loaded_since_watermark('h') }}
        or h.bargain_id in (
            select b.bargain_id from {{ ref('stg_bargains') }} as b
            where {{ loaded_since_watermark('b') }} or b.initiator_user_token in ({{ on_active_devices }})))
    union
    select s.sharer_token from {{ ref('int_share_cascades') }} as s where s.is_unrooted
    union
    select f.user_token from {{ this }} as f where f.circular_shares > 0
{%- endmacro %}
