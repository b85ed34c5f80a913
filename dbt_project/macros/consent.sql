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
