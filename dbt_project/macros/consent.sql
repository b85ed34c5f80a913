{# Consent is a gate, not a column: purpose marts keep only users whose consent holds when the
   build runs (and, for behaviour, held when they acted). `dim_consent` is SCD2 (valid_from
   inclusive, valid_to exclusive, open interval = current). #}

{% macro _check_purpose(purpose) %}
    {% set consent_purposes = var('consent_purposes') %}
    {% if purpose not in consent_purposes %}
        {{ exceptions.raise_compiler_error(
            "Unknown consent purpose '" ~ purpose ~ "'. Use one of " ~ consent_purposes | join(', ')
            ~ " (dbt_project.yml vars.consent_purposes)") }}
    {% endif %}
{% endmacro %}

{% macro _granted(purpose, user_col, period) %}
    {{- _check_purpose(purpose) -}}
    exists (
        select 1 from {{ ref('dim_consent') }} as _consent
        where _consent.user_token = {{ user_col }}
          and _consent.purpose = '{{ purpose }}'
          and _consent.status = 'granted'
          and {{ period }}
    )
{% endmacro %}

{# True when `user_col` had granted `purpose` at time `at_col` and still grants it when the
   build runs: consent at collection time and at processing time. A withdrawal ends the lawful
   basis for every later processing of the user's past rows too, not only of rows after it. #}
{% macro consented_at(purpose, user_col, at_col) %}
    ({{- _granted(purpose, user_col,
        at_col ~ " >= _consent.valid_from and " ~ at_col ~ " < coalesce(_consent.valid_to, 'infinity'::timestamptz)") }}
    and {{ consented_now(purpose, user_col) -}})
{% endmacro %}

{# True when `user_col` grants `purpose` now (models, marketing lists, user-level tables). #}
{% macro consented_now(purpose, user_col) %}
    {{- _granted(purpose, user_col, "_consent.valid_to is null") -}}
{% endmacro %}

{# Paid orders of users whose analytics consent held when ordering and still holds (the rows of
   dp_orders and mart_daily_demand): int_orders' columns plus the item's `category` and
   `region` ('unknown' when missing). In an incremental build, only the days new rows or
   consent events change (the callers' pre-hook, clear_consent_days, clears the latter). #}
{% macro consented_paid_orders() %}
    select
        o.*,
        coalesce(i.category, 'unknown') as category,
        coalesce(o.shipping_region, 'unknown') as region
    from {{ ref('int_orders') }} as o
    left join {{ ref('int_item_categories') }} as i on o.item_id = i.item_id
    where o.status = 'paid'
      and {{ consented_at('analytics', 'o.user_token', 'o.ordered_at') }}
    {% if is_incremental() %}
      and (o.order_date >= {{ changed_from([(ref('int_orders'), 'order_date')], consent=false) }}
           or o.order_date in {{ consent_changed_days(ref('int_orders'), 'order_date') }})
    {% endif %}
{% endmacro %}
