{# on-run-end: keep every node's outcome in the warehouse so `weir publish` can decide, per mart,
   whether it and all its tests passed, whichever process (CLI or an Airflow task) ran dbt. #}
{% macro weir_record_results(results) %}
    {% if execute %}
        {% do run_query("create schema if not exists ops") %}
        {% do run_query(
            "create table if not exists ops.dbt_results ("
            ~ "invocation_id varchar, unique_id varchar, resource_type varchar, name varchar, "
            ~ "status varchar, failures bigint, message varchar, depends_on varchar[], "
            ~ "finished_at timestamptz default current_timestamp)") %}
        {% set rows = [] %}
        {% for res in results %}
            {% set node = res.node %}
            {% set deps = node.depends_on.nodes if node.depends_on is defined else [] %}
            {% set msg = (res.message or '') | string | replace("'", "''") %}
            {% set dep_sql = "['" ~ (deps | join("','")) ~ "']" if deps else "[]::varchar[]" %}
            {% do rows.append(
                "('" ~ invocation_id ~ "', '" ~ node.unique_id ~ "', '" ~ node.resource_type ~ "', '"
                ~ node.name ~ "', '" ~ res.status ~ "', " ~ (res.failures if res.failures is not none else 'null')
                ~ ", '" ~ msg[:500] ~ "', " ~ dep_sql ~ ", current_timestamp)") %}
        {% endfor %}
        {% if rows %}
            {% do run_query("insert into ops.dbt_results values " ~ rows | join(", ")) %}
        {% endif %}
    {% endif %}
{% endmacro %}
