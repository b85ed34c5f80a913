-- Weekly retention: users grouped by the week of their first (consented) activity.
with activity as (
    select distinct e.user_token, date_trunc('week', e.event_date) as activity_week
    from {{ ref('int_events') }} as e
    where {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
),

cohorts as (
    select user_token, min(activity_week) as cohort_week
    from activity
    group by user_token
),

sizes as (
    select cohort_week, count(*) as cohort_users
    from cohorts
    group by cohort_week
)

select
    c.cohort_week,
    cast(date_diff('week', c.cohort_week, a.activity_week) as integer) as week_number,
    s.cohort_users,
    count(*) as active_users,
    count(*) / s.cohort_users as retention_rate
from activity as a
inner join cohorts as c on a.user_token = c.user_token
inner join sizes as s on c.cohort_week = s.cohort_week
group by c.cohort_week, a.activity_week, s.cohort_users
