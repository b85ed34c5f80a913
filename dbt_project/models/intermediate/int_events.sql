-- Event-grain fact. Incremental: a daily batch appends only its own rows (batches are
-- immutable once loaded, see ingest.load_ledger), so history is never rebuilt.
{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}

select
    *,
    cast(timezone('UTC', ts) as date) as event_date
from {{ ref('stg_events') }}
{% if is_incremental() %}
where {{ loaded_after_latest() }}
{% endif %}
