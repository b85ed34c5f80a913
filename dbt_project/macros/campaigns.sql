{# Progress of time-boxed campaigns (group buys, bargains): the `needed`-th `action_type`
   event before expiry completes the campaign. Ranks events per campaign, so each accepted
   action counts once; returns the campaign columns plus actions and completion. #}
{% macro campaign_progress(campaigns, key, needed, action_type) %}
    with actions as (
        select
            {{ key }},
            ts,
            row_number() over (partition by {{ key }} order by ts, event_id) as action_rank
        from {{ ref('int_events') }}
        where event_type = '{{ action_type }}'
    ),

    progress as (
        select
            c.{{ key }},
            count(a.ts) as actions,
            max(case when a.action_rank = c.{{ needed }} then a.ts end) as completed_at
        from {{ campaigns }} as c
        left join actions as a on c.{{ key }} = a.{{ key }} and a.ts < c.expires_at
        group by c.{{ key }}
    )

    select
        c.*,
        p.actions,
        p.completed_at,
        p.completed_at is not null as is_completed,
        date_diff('second', c.created_at, p.completed_at) / 60.0 as minutes_to_complete
    from {{ campaigns }} as c
    inner join progress as p on c.{{ key }} = p.{{ key }}
{% endmacro %}
