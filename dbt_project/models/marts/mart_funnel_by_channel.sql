-- View → cart → purchase per day and channel, over users with analytics consent at the event.
-- Steps are per user and nested (a cart counts only for a user who also viewed), so every
-- rate is at most 1; all purchases are still counted in `purchases` and `purchasers`.
-- Incremental: a daily run replaces only the days new rows or consent events can change.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_date',
          on_schema_change='fail', pre_hook="{% if is_incremental() %}{{ clear_consent_days('event_date', ref('int_events'), 'event_date') }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}
with user_steps as (
    select
        e.event_date,
        e.channel,
        e.user_token,
        bool_or(e.event_type = 'view') as viewed,
        bool_or(e.event_type = 'add_to_cart') as carted,
        bool_or(e.event_type = 'purchase') as purchased,
        count(case when e.event_type = 'view' then 1 end) as views,
        count(case when e.event_type = 'add_to_cart' then 1 end) as carts,
        count(case when e.event_type = 'purchase' then 1 end) as purchases
    from {{ ref('int_events') }} as e
    -- Exports without a channel (most behaviour logs) keep their funnel, under channel null.
    where e.event_type in ('view', 'add_to_cart', 'purchase')
      and {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
    {% if is_incremental() %}
      and (e.event_date >= {{ changed_from([(ref('int_events'), 'event_date')], consent=false) }}
       or e.event_date in {{ consent_changed_days(ref('int_events'), 'event_date') }})
    {% endif %}
    group by e.event_date, e.channel, e.user_token
)

select
    event_date,
    channel,
    count(case when viewed then 1 end) as viewers,
    count(case when viewed and carted then 1 end) as carters,
    count(case when purchased then 1 end) as purchasers,
    cast(sum(views) as bigint) as views,
    cast(sum(carts) as bigint) as carts,
    cast(sum(purchases) as bigint) as purchases,
    {{ safe_ratio('count(case when viewed and carted then 1 end)', 'count(case when viewed then 1 end)') }}
        as view_to_cart_rate,
    {{ safe_ratio('count(case when viewed and carted and purchased then 1 end)',
                  'count(case when viewed and carted then 1 end)') }} as cart_to_purchase_rate,
    {{ safe_ratio('count(case when viewed and purchased then 1 end)', 'count(case when viewed then 1 end)') }}
        as view_to_purchase_rate,
    {{ computed_at() }}
from user_steps
group by event_date, channel
{# Small cells (meta counts_people): a day and channel with 1 to k-1 viewers, carters or
   purchasers is left out. #}
having not (
    count(case when viewed then 1 end) between 1 and {{ k_anonymity() - 1 }}
    or count(case when viewed and carted then 1 end) between 1 and {{ k_anonymity() - 1 }}
    or count(case when purchased then 1 end) between 1 and {{ k_anonymity() - 1 }}
)
