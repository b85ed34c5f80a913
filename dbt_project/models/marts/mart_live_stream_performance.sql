-- Live streams: watchers, buyers, conversion and GMV per minute on air.
-- Incremental: a daily run recomputes only the streams its rows can change (new streams, streams
-- with new events or orders, streams of users whose consent changed: touched_live_streams),
-- each from all its events.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='live_stream_id',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where live_stream_id in ({{ touched_live_streams() }}){% endif %}",
          post_hook="{{ record_watermark() }}") }}
with streams as (
    select s.*
    from {{ ref('stg_live_streams') }} as s
    {% if is_incremental() %}
    where s.live_stream_id in ({{ touched_live_streams() }})
    {% endif %}
),

events as (
    select e.*
    from {{ ref('int_events') }} as e
    where e.live_stream_id in (select live_stream_id from streams)
      and {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
),

activity as (
    select
        e.live_stream_id,
        count(distinct case when e.event_type in ('live_watch', 'view') then e.user_token end) as watchers,
        count(distinct case when e.event_type = 'purchase' then e.user_token end) as buyers,
        count(distinct case when e.event_type = 'purchase' then e.order_id end) as orders
    from events as e
    group by e.live_stream_id
),

sales as (
    select e.live_stream_id, cast(sum(o.gmv_cents) as bigint) as gmv_cents
    from events as e
    inner join {{ ref('int_orders') }} as o on e.order_id = o.order_id
    where e.event_type = 'purchase'
    group by e.live_stream_id
)

select
    s.live_stream_id,
    s.item_id,
    s.started_at,
    s.ended_at,
    date_diff('second', s.started_at, s.ended_at) / 60.0 as minutes_on_air,
    coalesce(a.watchers, 0) as watchers,
    coalesce(a.buyers, 0) as buyers,
    coalesce(a.orders, 0) as orders,
    coalesce(x.gmv_cents, 0) as gmv_cents,
    {{ safe_ratio('coalesce(a.buyers, 0)', 'a.watchers') }} as conversion_rate,
    {{ safe_ratio('coalesce(x.gmv_cents, 0)', 'date_diff(\'second\', s.started_at, s.ended_at) / 60.0') }}
        as gmv_cents_per_minute,
    {{ computed_at() }}
from streams as s
left join activity as a on s.live_stream_id = a.live_stream_id
left join sales as x on s.live_stream_id = x.live_stream_id
{# Small cells (meta counts_people): a stream with 1 to k-1 watchers or buyers is left out. #}
where not (
    coalesce(a.watchers, 0) between 1 and {{ k_anonymity() - 1 }}
    or coalesce(a.buyers, 0) between 1 and {{ k_anonymity() - 1 }}
)
