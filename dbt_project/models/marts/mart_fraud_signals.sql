-- Fraud signals per account: many accounts behind one device, order bursts from accounts
-- sharing a device, circular shares, and bargain farms (helpers sharing the initiator's
-- device). Purpose fraud_prevention: a legitimate interest, so no consent filter applies.
-- Incremental: a daily run recomputes only the accounts its rows can change
-- (touched_fraud_accounts), each from all its history.
-- (refs in incremental-only macros: dbt infers dependencies at parse time)
-- depends_on: {{ ref('int_events') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='user_token',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where user_token in ({{ touched_fraud_accounts() }}){% endif %}",
          post_hook="{{ record_watermark() }}") }}
{% set burst_minutes = var('fraud_burst_minutes', 20) %}
{% set min_device_accounts = var('fraud_min_device_accounts', 5) %}

{% set only %}{% if is_incremental() %}in (select user_token from touched){% endif %}{% endset %}
with recursive {% if is_incremental() %}touched as ({{ touched_fraud_accounts() }}),{% endif %}

device_users as (
    select device_token, user_token from {{ ref('int_device_users') }}
),

device_size as (
    select device_token, count(distinct user_token) as accounts
    from device_users
    {% if is_incremental() %}
    where device_token in (select device_token from device_users where user_token {{ only }})
    {% endif %}
    group by device_token
),

user_device as (
    select du.user_token, max(ds.accounts) as device_accounts
    from device_users as du
    inner join device_size as ds on du.device_token = ds.device_token
    {% if is_incremental() %}where du.user_token {{ only }}{% endif %}
    group by du.user_token
),

shared_device_orders as (
    select o.order_id, o.user_token, o.device_token, o.ordered_at
    from {{ ref('int_orders') }} as o
    inner join device_size as ds on o.device_token = ds.device_token
    where ds.accounts > 1
),

bursts as (
    select a.user_token, count(distinct a.order_id) as burst_orders
    from shared_device_orders as a
    inner join shared_device_orders as b
        on a.device_token = b.device_token and a.user_token <> b.user_token
       and b.ordered_at between a.ordered_at - interval '{{ burst_minutes }} minutes'
                            and a.ordered_at + interval '{{ burst_minutes }} minutes'
    {% if is_incremental() %}where a.user_token {{ only }}{% endif %}
    group by a.user_token
),

walk (start_share_id, share_id, steps) as (
    select share_id, parent_share_id, 1
    from {{ ref('int_share_cascades') }}
    where is_unrooted and parent_share_id is not null
    union all
    select w.start_share_id, s.parent_share_id, w.steps + 1
    from walk as w
    inner join {{ ref('int_share_cascades') }} as s on s.share_id = w.share_id
    where w.steps < 64 and w.share_id <> w.start_share_id and s.parent_share_id is not null
),

circular as (
    select s.sharer_token as user_token, count(distinct s.share_id) as circular_shares
    from walk as w
    inner join {{ ref('int_share_cascades') }} as s on s.share_id = w.start_share_id
    where w.share_id = w.start_share_id
    {% if is_incremental() %}and s.sharer_token {{ only }}{% endif %}
    group by s.sharer_token
),

farm as (
    select h.user_token, count(*) as farm_helps
    from {{ ref('int_events') }} as h
    inner join {{ ref('stg_bargains') }} as b on h.bargain_id = b.bargain_id
    inner join device_users as hd on hd.user_token = h.user_token
    inner join device_users as idv
        on idv.user_token = b.initiator_user_token and idv.device_token = hd.device_token
    where h.event_type = 'bargain_help' and h.user_token <> b.initiator_user_token
    {% if is_incremental() %}and h.user_token {{ only }}{% endif %}
    group by h.user_token
),

signals as (
    select
        u.user_token,
        u.device_accounts,
        coalesce(bu.burst_orders, 0) as burst_orders,
        coalesce(c.circular_shares, 0) as circular_shares,
        coalesce(f.farm_helps, 0) as farm_helps
    from user_device as u
    left join bursts as bu on u.user_token = bu.user_token
    left join circular as c on u.user_token = c.user_token
    left join farm as f on u.user_token = f.user_token
)

select
    *,
    cast(device_accounts >= {{ min_device_accounts }} as integer)
        + cast(burst_orders > 0 and device_accounts >= {{ min_device_accounts }} as integer)
        + cast(circular_shares > 0 as integer)
        + cast(farm_helps > 0 as integer) as signal_count,
    device_accounts >= {{ min_device_accounts }} or circular_shares > 0 or farm_helps > 1 as is_flagged,
    {{ computed_at() }}
from signals
where device_accounts >= 2 or circular_shares > 0 or farm_helps > 0
