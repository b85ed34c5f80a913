{# on-run-end: keep every node's outcome in the warehouse so `weir publish` can decide, per mart,
   whether it and all its tests passed, whichever process (CLI or an Airflow task) ran dbt.
   A failing data test keeps its compiled SQL, so `weir publish` can show sample failing keys
   without every passing test storing an empty failures table. #}
{% macro weir_record_results(results) %}
    {% if execute %}
        {% do run_query("create schema if not exists ops") %}
        {% do run_query(
            "create table if not exists ops.dbt_results ("
            ~ "invocation_id varchar, unique_id varchar, resource_type varchar, name varchar, "
            ~ "status varchar, failures bigint, message varchar, depends_on varchar[], "
            ~ "finished_at timestamptz default current_timestamp)") %}
        {% do run_query("alter table ops.dbt_results add column if not exists failing_sql varchar") %}
        {% set rows = [] %}
        {% for res in results %}
            {% set node = res.node %}
            {% set deps = node.depends_on.nodes if node.depends_on is defined else [] %}
            {% set msg = (res.message or '') | string | replace("'", "''") %}
            {% set dep_sql = "['" ~ (deps | join("','")) ~ "']" if deps else "[]::varchar[]" %}
            {% set failing = node.resource_type == 'test' and res.status in ('fail', 'warn', 'error')
                             and node.compiled_code %}
            {% set failing_sql = "'" ~ (node.compiled_code | replace("'", "''")) ~ "'" if failing else 'null' %}
            {% do rows.append(
                "('" ~ invocation_id ~ "', '" ~ node.unique_id ~ "', '" ~ node.resource_type ~ "', '"
                ~ node.name ~ "', '" ~ res.status ~ "', " ~ (res.failures if res.failures is not none else 'null')
                ~ ", '" ~ msg[:500] ~ "', " ~ dep_sql ~ ", current_timestamp, " ~ failing_sql ~ ")") %}
        {% endfor %}
        {% if rows %}
            {# one transaction: the results and the run's signed audit entry commit together #}
            {% do run_query(
                "begin transaction; "
                ~ "insert into ops.dbt_results (invocation_id, unique_id, resource_type, name, status, failures, "
                ~ "message, depends_on, finished_at, failing_sql) values " ~ rows | join(", ") ~ "; "
                ~ weir_audit_entry_sql() ~ "; commit") %}
        {% endif %}
    {% endif %}
{% endmacro %}
