{# Progress of time-boxed campaigns (group buys, bargains): the `needed`-th `action_type`
   event before expiry completes the campaign. Ranks events per campaign, so each accepted
   action counts once; returns the campaign columns plus actions and completion. An
   incremental build passes `touched` (touched_campaign_keys): only those campaigns, each from
   all its events. #}
{% macro campaign_progress(campaigns, key, needed, action_type, touched=none) %}
    {%- if touched %}
    {%- set campaigns -%}
        (select * from {{ campaigns }} where {{ key }} in ({{ touched }}))
    {%- endset %}
    {%- endif %}
    with actions as (
        select
            {{ key }},
            ts,
            row_number() over (partition by {{ key }} order by ts, event_id) as action_rank
        from {{ ref('int_events') }}
        where event_type = '{{ action_type }}'
        {%- if touched %} and {{ key }} in ({{ touched }}){% endif %}
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

{# The campaigns (keys of `campaigns`, a staging relation) whose progress rows loaded since the
   model's watermark can change: campaigns loaded since, and campaigns with `action_type`
   events loaded since (late events included: each campaign is recomputed from all its events). #}
{% macro touched_campaign_keys(campaigns, key, action_type) -%}
    select c.{{ key }} from {{ campaigns }} as c where {{ loaded_since_watermark('c') }}
    union
    select e.{{ key }} from {{ ref('int_events') }} as e
    where e.event_type = '{{ action_type }}' and e.{{ key }} is not null and {{ loaded_since_watermark('e') }}
{%- endmacro %}

{# True for the start days (`day`, an expression) a day-grain campaign mart rebuilds, each day
   whole (its small cells pool across the day's categories): the days of campaigns loaded or
   progressed since the mart's watermark, and the days a consent change reaches (an
   initiator's consent gates their rows). Also its pre-hook's filter: a day that falls under k
   returns no rows, and delete+insert alone would keep the old ones. #}
{% macro campaign_days_changed(day, outcomes, campaigns, key, action_type) -%}
    {%- set started -%}
        (select initiator_user_token as user_token, cast(timezone('UTC', created_at) as date) as created_on
         from {{ outcomes }})
    {%- endset -%}
    ({{ day }} in (
        select cast(timezone('UTC', c.created_at) as date) from {{ campaigns }} as c
        where c.{{ key }} in ({{ touched_campaign_keys(campaigns, key, action_type) }}))
     or {{ day }} in {{ consent_changed_days(started, 'created_on') }})
{%- endmacro %}

{# Small cells (meta counts_people): rows of `cells` (a CTE with columns `keys`, `pooled`,
   `people`) whose `pooled` value has fewer than k `people` under the same `keys` are pooled
   into 'other'; a pool still under k is left out. Selects keys, pooled, `measures` (SQL over
   alias s), then the distinct people as `people_as` and the freshness column (the
   callers are incremental marts). #}
{% macro pooled_cells(cells, keys, pooled, people, measures, people_as) -%}
    {%- set on = [] -%}
    {%- for k in keys + [pooled] %}{% do on.append('s.' ~ k ~ ' = c.' ~ k) %}{% endfor -%}
    select
        {% for k in keys %}s.{{ k }},
        {% endfor -%}
        case when c.is_large then s.{{ pooled }} else 'other' end as {{ pooled }},
        {{ measures }},
        count(distinct s.{{ people }}) as {{ people_as }},
        {{ computed_at() }}
    from {{ cells }} as s
    inner join (
        select {{ (keys + [pooled]) | join(', ') }}, count(distinct {{ people }}) >= {{ k_anonymity() }} as is_large
        from {{ cells }}
        group by all
    ) as c on {{ on | join(' and ') }}
    group by all
    having count(distinct s.{{ people }}) >= {{ k_anonymity() }}
{%- endmacro %}

{% macro bargain_days_changed(day) -%}
    {{ campaign_days_changed(day, ref('int_bargain_chains'), ref('stg_bargains'), 'bargain_id', 'bargain_help') }}
{%- endmacro %}

{% macro group_buy_days_changed(day) -%}
    {{ campaign_days_changed(day, ref('int_group_buy_outcomes'), ref('stg_group_buys'), 'group_buy_id', 'group_buy_join') }}
{%- endmacro %}

{# The campaigns of `chains` (bargain chains, group buys: one row per campaign with its
   initiator) as CTE `days`: one row each, with its start day, its item's category and the
   `measures` columns, for initiators who consented to analytics at its start. A daily run
   passes `days_changed` (its mart's campaign_days_changed condition on created_on) and keeps
   only those days. #}
{% macro campaign_starts(chains, measures, days_changed=none) -%}
with started as (
    select
        cast(timezone('UTC', c.created_at) as date) as created_on,
        coalesce(i.category, 'unknown') as category,
        c.initiator_user_token,
        {%- for m in measures %}
        c.{{ m }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ chains }} as c
    left join {{ ref('int_item_categories') }} as i on c.item_id = i.item_id
    where {{ consented_at('analytics', 'c.initiator_user_token', 'c.created_at') }}
),

days as (
    select * from started
    {% if days_changed %}where {{ days_changed }}{% endif %}
)
{%- endmacro %}
