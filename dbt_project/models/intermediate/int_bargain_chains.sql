-- A bargain completes when `helps_needed` helps arrive before it expires. Each bargain_help
-- event is a help the app accepted (it logs no refused helps).
-- Incremental: a daily run recomputes only the bargains new rows touch, each from all its helps.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='bargain_id',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}
{% set touched = touched_campaign_keys(ref('stg_bargains'), 'bargain_id', 'bargain_help') if is_incremental() %}
select
    bargain_id,
    initiator_user_token,
    item_id,
    helps_needed,
    created_at,
    expires_at,
    actions as helpers,
    completed_at,
    is_completed,
    minutes_to_complete
from ({{ campaign_progress(ref('stg_bargains'), 'bargain_id', 'helps_needed', 'bargain_help', touched) }})
