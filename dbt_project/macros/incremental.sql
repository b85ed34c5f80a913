{# Incremental marts recompute only what rows loaded since their last build can change.
   A model's watermark is the time it last took in new rows: `ops.build_watermarks`, written
   by its post-hook inside the model's own transaction (a failed build keeps the old one).
   Ingest and dbt never hold the warehouse at the same time, so every row with a later
   `loaded_at` is one the model has not seen. No watermark means everything is new. #}

{% macro create_watermarks() %}
    create schema if not exists ops;
    create table if not exists ops.build_watermarks (model varchar not null, loaded_through timestamptz not null)
{% endmacro %}

{% macro watermark(model=none, previous=false) -%}
    {%- set name = model or this.identifier -%}
    (select coalesce(max(loaded_through), '-infinity'::timestamptz)
     from ops.build_watermarks where model = '{{ name }}'
     {%- if previous %}
       and loaded_through < (select max(loaded_through) from ops.build_watermarks where model = '{{ name }}')
     {%- endif %})
{%- endmacro %}

{% macro record_watermark() -%}
    insert into ops.build_watermarks values ('{{ this.identifier }}', current_timestamp)
{%- endmacro %}

{# The earliest day that new rows can change: the days of new rows in `inputs` (pairs of a
   relation and its day expression), and for consent-gated callers (`consent`, which already
   depend on `dim_consent`) every day from a new consent event's time on, since it moves a
   consent interval's end (late and back-dated events included). A date far in the
   future when nothing is new, so the model selects no rows and delete+insert keeps them all. #}
{% macro changed_from(inputs, consent=true) -%}
    {%- set query = _changed_from_query(inputs, ref('dim_consent') if consent else none, watermark()) -%}
    {#- A literal, not a subquery, so DuckDB skips the row groups of older days. -#}
    {%- if execute -%}
        date '{{ run_query(query).columns[0].values()[0] }}'
    {%- else -%}
        ({{ query }})
    {%- endif -%}
{%- endmacro %}

{% macro _changed_from_query(inputs, consent, since) -%}
    select coalesce(min(day), '9999-12-31'::date) from (
        {%- for relation, day in inputs %}
        select min({{ day }}) as day from {{ relation }} where loaded_at > {{ since }}
        {%- if not loop.last or consent %} union all{% endif %}
        {%- endfor %}
        {%- if consent %}
        select min(cast(timezone('UTC', valid_from) as date)) from {{ consent }}
        where loaded_at > {{ since }}
        {%- endif %}
    )
{%- endmacro %}

{# The days (or weeks, `week=true`) a consent-gated incremental model rebuilds because a
   consent event for `purpose` arrived since `since` (default: the model's watermark): every
   day on which its user has rows in `relation`, from their first grant on. Consent is checked
   at processing time, so a withdrawal reaches all the user's past days, not just the days
   after it (and a re-grant brings back rows whose event-time consent held). As a literal list,
   so the model still reads only the row groups it needs. `(null)` when nothing changed. #}
{% macro consent_changed_days(relation, day, purpose='analytics', week=false, since=none) -%}
    {%- set query = _consent_changed_days_query(relation, day, purpose, week, since or watermark(), ref('dim_consent')) -%}
    {%- if execute -%}
        {%- set days = run_query(query).columns[0].values() -%}
        ({% for d in days %}date '{{ d }}'{% if not loop.last %}, {% endif %}{% else %}null::date{% endfor %})
    {%- else -%}
        ({{ query }})
    {%- endif -%}
{%- endmacro %}

{% macro _consent_changed_days_query(relation, day, purpose, week, since, consent) -%}
    select distinct cast({% if week %}date_trunc('week', r.{{ day }}){% else %}r.{{ day }}{% endif %} as date)
    from {{ relation }} as r
    inner join (
        select c.user_token, min(c.valid_from) filter (where c.status = 'granted') as first_granted
        from {{ consent }} as c
        where c.purpose = '{{ purpose }}'
          and c.user_token in (
              select user_token from {{ consent }} where purpose = '{{ purpose }}' and loaded_at > {{ since }})
        group by c.user_token
    ) as changed on r.user_token = changed.user_token
    where r.{{ day }} >= cast(timezone('UTC', changed.first_granted) as date)
    order by 1
{%- endmacro %}

{# Pre-hook of a consent-gated incremental model: delete the days `consent_changed_days`
   rebuilds. delete+insert replaces only the days the new select returns, and a day whose
   only rows were a withdrawn user's returns none: without this it would keep them. #}
{% macro clear_consent_days(day_col, relation, day, purpose='analytics', week=false) -%}
    delete from {{ this }} where {{ day_col }} in {{ consent_changed_days(relation, day, purpose, week) }}
{%- endmacro %}

{# Data tests on the day-grain incremental models named in `vars.rebuilt_day_windows`: in a
   daily `dbt build` they check only the days this build rewrote (what `changed_from` gave,
   against the model's previous watermark); older days were checked when they were written.
   Likewise the append-only facts in `vars.appended_row_windows` (and their staging views)
   check only the rows loaded since the fact last took rows in. Full refreshes, first builds (no previous watermark) and `dbt test` check every row. This
   overrides dbt's get_where_subquery, which wraps the model of every generic test. #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set daily = execute and not flags.FULL_REFRESH and flags.WHICH == 'build' -%}
    {%- set window = var('rebuilt_day_windows', {}).get(relation.identifier) -%}
    {%- set appended = var('appended_row_windows', {}).get(relation.identifier) -%}
    {%- set rebuilt = none -%}
    {%- if daily and window and window.get('per_user') -%}
        {%- do return(_new_days_and_changed_users_subquery(relation, window, where)) -%}
    {%- elif daily and window -%}
        {%- set since = watermark(relation.identifier, previous=true) -%}
        {%- set rebuilt -%}
            ({{ window.day }} >= ({{ _changed_from_query([(window.source, window.source_day)], none, since) }})
            {%- if window.get('consent', true) %}
             or {{ window.day }} in ({{ _consent_changed_days_query(window.source, window.source_day, 'analytics', false, since, 'marts.dim_consent') }})
            {%- endif %})
        {%- endset -%}
    {%- elif daily and appended -%}
        {#- A staging view is tested before its fact takes the new rows in: the fact's latest
            watermark. The fact itself is tested after its post-hook: its previous one.
            A literal, so DuckDB skips the row groups of earlier batches. -#}
        {%- set mark = watermark(appended, previous=(appended == relation.identifier)) -%}
        {%- set since = run_query('select cast(' ~ mark ~ ' as varchar)') -%}
        {%- set rebuilt = "loaded_at > timestamptz '" ~ since.columns[0].values()[0] ~ "'" -%}
    {%- endif -%}
    {%- if rebuilt -%}
        {%- set where = '(' ~ where ~ ') and ' ~ rebuilt if where else rebuilt -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{# The rows a daily build of a per-user day model (dp_events, int_funnel_user_days) rewrote: the new days, and the
   older rows of users whose analytics consent changed since its previous build. A union of
   the two, not an `or`, so the older rows are read through a semi-join on the few changed
   users (see new_days_and_changed_users). Kept rows belong to users whose consent did not
   change, and a duplicate of a rewritten row is the same user's on the same day: in the window. #}
{% macro _new_days_and_changed_users_subquery(relation, window, where) -%}
    {%- set since = watermark(relation.identifier, previous=true) -%}
    {%- set from_day = run_query(_changed_from_query([(window.source, window.source_day)], none, since)).columns[0].values()[0] -%}
    {%- set changed -%}
        select user_token from marts.dim_consent where purpose = 'analytics' and loaded_at > {{ since }}
    {%- endset -%}
    {%- set filtered -%}
        (select * from {{ new_days_and_changed_users(relation, window.day, "date '" ~ from_day ~ "'", changed) }} as rewritten
         {%- if where %} where {{ where }}{% endif %}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}

{# Each user with new events, and the time of their earliest new event. #}
{% macro sessions_first_new() -%}
    select user_token, min(ts) as first_new
    from {{ ref('int_events') }}
    where {{ loaded_since_watermark() }}
    group by user_token
{%- endmacro %}

{# int_sessions' pre-hook: delete each user's sessions that their new events can extend or
   follow within the session gap; the model rebuilds them from its events after the kept ones. #}
{% macro reopen_sessions() %}
    delete from {{ this }} as s
    using ({{ sessions_first_new() }}) as n
    where s.user_token = n.user_token
      and s.ended_at >= n.first_new - interval '{{ var('session_gap_minutes', 30) }} minutes'
{% endmacro %}

{# The earliest event time a daily int_sessions build reads, as a literal so DuckDB skips the
   row groups of older days: every event it needs is new, or belongs to a session the pre-hook
   reopens. Read when the model compiles, before its pre-hook deletes those sessions. #}
{% macro sessions_read_from() -%}
    {%- if execute -%}
        {%- set query -%}
            with n as ({{ sessions_first_new() }})
            select cast(least(
                (select min(first_new) from n),
                (select min(s.started_at) from {{ this }} as s inner join n on s.user_token = n.user_token
                 where s.ended_at >= n.first_new - interval '{{ var('session_gap_minutes', 30) }} minutes')
            ) as varchar)
        {%- endset -%}
        {%- set read_from = run_query(query).columns[0].values()[0] -%}
        {%- if read_from -%}timestamptz '{{ read_from }}'{%- else -%}'infinity'::timestamptz{%- endif -%}
    {%- else -%}
        '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}

{# An append-only fact's incremental filter: rows loaded after the latest one it holds. Ingest
   and dbt never hold the warehouse at the same time, so every later row is one the fact has
   not taken in. A literal, so DuckDB skips the row groups of the batches already taken. #}
{% macro loaded_after_latest() -%}
    {%- set latest = run_query('select cast(max(loaded_at) as varchar) from ' ~ this).columns[0].values()[0] if execute -%}
    {%- if latest -%}
        loaded_at > timestamptz '{{ latest }}'
    {%- else -%}
        loaded_at > (select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ this }})
    {%- endif -%}
{%- endmacro %}

{# Rows loaded after the model's watermark, as a timestamp literal so DuckDB skips the row groups
   of batches already taken in (for models that read an append-only fact's new rows). #}
{% macro loaded_since_watermark(alias='') -%}
    {%- set column = alias ~ '.loaded_at' if alias else 'loaded_at' -%}
    {%- if execute -%}
        {%- set since = run_query('select cast(' ~ watermark() ~ ' as varchar)').columns[0].values()[0] -%}
        {{ column }} > timestamptz '{{ since }}'
    {%- else -%}
        {{ column }} > {{ watermark() }}
    {%- endif -%}
{%- endmacro %}

{# The share campaigns (root shares) a daily build of mart_share_campaigns recomputes: those
   with shares or arrivals loaded since its watermark, and those where a user whose analytics
   consent changed shared or arrived. Its pre-hook deletes them first: a campaign whose root
   sharer withdrew returns no row, and delete+insert alone would keep it. #}
{% macro touched_campaigns() -%}
    {%- set changed -%}
        select user_token from {{ ref('dim_consent') }}
        where purpose = 'analytics' and loaded_at > {{ watermark() }}
    {%- endset -%}
    select distinct c.root_share_id
    from {{ ref('int_share_cascades') }} as c
    where c.root_share_id is not null and (
        c.share_id in (
            select e.share_id from {{ ref('int_events') }} as e
            where e.share_id is not null and {{ loaded_since_watermark('e') }})
        or c.sharer_token in ({{ changed }})
        or c.share_id in (
            select e.share_id from {{ ref('int_events') }} as e
            where e.channel = 'share_link' and e.share_id is not null and e.user_token in ({{ changed }})))
{%- endmacro %}

{# The live streams a daily build of mart_live_stream_performance recomputes: new streams,
   streams with events or orders loaded since its watermark (late ones included), and streams
   where a user whose analytics consent changed has events (each stream's row counts only its
   own consenting people: a changed user reaches the streams they watched, not every stream on
   the days they were active, which is nearly all of them). Its pre-hook deletes them first: a
   stream that falls to 1 to k-1 people returns no row (small cells are left out), and
   delete+insert alone would keep its old row. #}
{% macro touched_live_streams() -%}
    select s.live_stream_id from {{ ref('stg_live_streams') }} as s
    where {{ loaded_since_watermark('s') }}
    union
    {#- Three branches, not one `or`: the first skips older batches' row groups, the others
        read through semi-joins (see new_days_and_changed_users). #}
    select e.live_stream_id from {{ ref('int_events') }} as e
    where e.live_stream_id is not null and {{ loaded_since_watermark('e') }}
    union
    select e.live_stream_id from {{ ref('int_events') }} as e
    where e.live_stream_id is not null and e.user_token in ({{ analytics_consent_changed() }})
    union
    select e.live_stream_id from {{ ref('int_events') }} as e
    where e.live_stream_id is not null
      and e.order_id in (select o.order_id from {{ ref('int_orders') }} as o where {{ loaded_since_watermark('o') }})
{%- endmacro %}

{# The freshness column of an incremental mart: when the build that (re)computed the row ran.
   A daily build recomputes only the rows new data touches; the weekly full refresh
   (weir.dbt.full_refresh_due) recomputes every row. #}
{% macro computed_at() -%}
    cast(current_timestamp as timestamptz) as computed_at
{%- endmacro %}

{# Pre-hooks of a per-user incremental model (dp_events, int_user_weeks, int_funnel_user_days):
   delete the rows a daily run rewrites, the new days (`day_col` >= changed_from; a week start
   with `week=true`) and the rows of users whose analytics consent changed, in two statements
   (the day filter skips older row groups; joined to the users' test by `or` it would not).
   The model's query inserts them again (new_days_and_changed_users). #}
{% macro per_user_rewrite_hooks(day_col, week=false) -%}
    {%- set since = "changed_from([(ref('int_events'), 'event_date')], consent=false)" -%}
    {%- set since = "date_trunc('week', {{ " ~ since ~ " }})" if week else "{{ " ~ since ~ " }}" -%}
    {{- return([
        "{% if is_incremental() %}delete from {{ this }} where " ~ day_col ~ " >= " ~ since ~ "{% endif %}",
        "{% if is_incremental() %}delete from {{ this }} where user_token in ({{ analytics_consent_changed() }}){% endif %}",
    ]) -}}
{%- endmacro %}

{# The rows of `relation` a daily run of a per-user model rewrites: those on days from `since`
   (a date expression: changed_from), and the older rows of users whose analytics consent
   changed. Two branches of a union, not one `or`: DuckDB then reads the older rows through a
   semi-join on the few changed users, where `day >= since or user_token in (...)` made it scan
   and consent-join every row before filtering (as slow as a full build at 30M events). #}
{% macro new_days_and_changed_users(relation, day, since, changed=none) -%}
    (select * from {{ relation }} where {{ day }} >= {{ since }}
     union all
     select * from {{ relation }} where {{ day }} < {{ since }} and user_token in ({{ changed or analytics_consent_changed() }}))
{%- endmacro %}
