-- View → cart → purchase per day and channel, over users with analytics consent at the event.
-- Steps are per user and nested (a cart counts only for a user who also viewed), so every
-- rate is at most 1; all purchases are still counted in `purchases` and `purchasers`.
-- Incremental: a daily run replaces only the days new rows or consent events can change, each
-- summed from its users' rows in int_funnel_user_days (not from the events).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_date',
          on_schema_change='fail', pre_hook="{% if is_incremental() %}{{ clear_consent_days('event_date', ref('int_user_days'), 'event_date') }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}
-- depends_on: {{ ref('int_events') }}, {{ ref('int_user_days') }}, {{ ref('dim_consent') }}
with user_steps as (
    select *
    from {{ ref('int_funnel_user_days') }}
    {% if is_incremental() %}
    where event_date >= {{ changed_from([(ref('int_events'), 'event_date')], consent=false) }}
       or event_date in {{ consent_changed_days(ref('int_user_days'), 'event_date') }}
    {% endif %}
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
