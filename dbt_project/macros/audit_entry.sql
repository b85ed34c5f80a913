{# The run's audit entry as one insert, for the transaction that records the run's results
   (weir_record_results): figures come from ops.dbt_results, and weir_audit_entry, a function
   the weir.dbt_audit plugin registers, signs the fields. #}
{% macro weir_audit_entry_sql() %}
    {%- set actor = env_var('WEIR_AUDIT_ACTOR', 'dbt') | replace("'", "''") -%}
    {%- set command = invocation_args_dict.get('which') or 'run' -%}
    {%- set inputs = tojson({
        'invocation_id': invocation_id,
        'full_refresh': flags.FULL_REFRESH or false,
        'select': invocation_args_dict.get('select'),
    }) | replace("'", "''") -%}
    insert into audit.log
    select
        cast(entry ->> '$.seq' as bigint),
        entry ->> '$.recorded_at',
        entry ->> '$.actor',
        entry ->> '$.action',
        entry ->> '$.inputs',
        entry ->> '$.figures',
        entry ->> '$.prev_hash',
        entry ->> '$.entry_hash',
        entry ->> '$.signature'
    from (
        select weir_audit_entry(
            (select max(seq) from audit.log),
            (select entry_hash from audit.log order by seq desc limit 1),
            '{{ actor }}',
            'dbt_{{ command }}',
            '{{ inputs }}',
            (
                select cast(json_object(
                    'nodes', count(*),
                    'ok', count(*) filter (where status in ('error', 'fail')) = 0,
                    'failed', coalesce(
                        list(unique_id order by unique_id) filter (where status in ('error', 'fail')),
                        []::varchar[]
                    )
                ) as varchar)
                from ops.dbt_results
                where invocation_id = '{{ invocation_id }}'
            )
        ) as entry
    )
{% endmacro %}
