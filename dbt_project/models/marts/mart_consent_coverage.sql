-- Consent coverage per day and purpose over the behaviour window: of the users signed up by
-- the end of the day, how many had granted the purpose at that moment. Compliance reporting.
-- Incremental: a daily run replaces only the days new events, sign-ups or consent events change.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}
with bounds as (
    select
        {% if is_incremental() -%}
        greatest(min(event_date), {{ changed_from([
            (ref('int_events'), 'event_date'),
            (ref('stg_users'), "cast(timezone('UTC', signup_at) as date)")]) }}) as first_day,
        {%- else -%}
        min(event_date) as first_day,
        {%- endif %}
        max(event_date) as last_day
    from {{ ref('int_events') }}
),

days as (
    select cast(d as date) as day, timezone('UTC', cast(cast(d as date) + 1 as timestamp)) as day_end
    from bounds, range(bounds.first_day, bounds.last_day + 1, interval 1 day) as t(d)
),

purposes as (
    select unnest({{ var('consent_purposes') }}) as purpose
),

known as (
    select d.day, count(*) as known_users
    from days as d
    inner join {{ ref('stg_users') }} as u on u.signup_at < d.day_end
    group by d.day
),

granted as (
    select d.day, c.purpose, count(distinct c.user_token) as consented_users
    from days as d
    inner join {{ ref('dim_consent') }} as c
        on c.valid_from < d.day_end and coalesce(c.valid_to, 'infinity'::timestamptz) >= d.day_end
    where c.status = 'granted'
    group by d.day, c.purpose
)

select
    d.day,
    p.purpose,
    k.known_users,
    coalesce(g.consented_users, 0) as consented_users,
    {{ safe_ratio('coalesce(g.consented_users, 0)', 'k.known_users') }} as coverage_rate,
    {{ computed_at() }}
from days as d
cross join purposes as p
inner join known as k on d.day = k.day
left join granted as g on d.day = g.day and p.purpose = g.purpose
