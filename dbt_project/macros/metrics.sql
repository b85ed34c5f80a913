{# Small metric helpers shared by marts (and exercised by dbt unit tests). #}

{% macro safe_ratio(numerator, denominator) -%}
    cast(({{ numerator }}) as double) / nullif(({{ denominator }}), 0)
{%- endmacro %}

{# K-factor of a share cascade: child shares per share. In a tree of n shares every share
   but the root has one parent, so it is (n - 1) / n; a viral cascade keeps it near 1. #}
{% macro k_factor(shares) -%}
    cast((({{ shares }}) - 1) as double) / nullif(({{ shares }}), 0)
{%- endmacro %}

{# Wilson score interval for a proportion (z = 1.96 for 95%). Returns the lower or upper bound. #}
{% macro wilson_bound(successes, trials, sign) -%}
    case when ({{ trials }}) > 0 then (
        (cast({{ successes }} as double) / ({{ trials }}) + 1.96 * 1.96 / (2 * ({{ trials }}))
         {{ sign }} 1.96 * sqrt(
            (cast({{ successes }} as double) / ({{ trials }})) * (1 - cast({{ successes }} as double) / ({{ trials }}))
            / ({{ trials }}) + 1.96 * 1.96 / (4 * ({{ trials }}) * ({{ trials }}))))
        / (1 + 1.96 * 1.96 / ({{ trials }}))
    ) end
{%- endmacro %}
