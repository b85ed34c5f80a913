{# The k of k-anonymity for published row-level marts: $WEIR_K_ANONYMITY, which weir.dbt sets for
   every dbt run from weir.config.k_anonymity() (the one place its default is declared). #}
{% macro k_anonymity() %}
    {{- return(env_var('WEIR_K_ANONYMITY') | int) -}}
{% endmacro %}

{# Distinct non-null values of `column` in the row's class of `quasi_identifiers` (a window). #}
{% macro class_size(column, quasi_identifiers) %}
    count(distinct {{ column }}) over (partition by {{ quasi_identifiers | join(', ') }})
{%- endmacro %}
