-- Weekly retention: users grouped by the week of their first (consented) activity.
-- The (user, week) activity comes from int_user_weeks, which daily runs update by week.
with activity as (
    select user_token, activity_week from {{ ref('int_user_weeks') }}
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
