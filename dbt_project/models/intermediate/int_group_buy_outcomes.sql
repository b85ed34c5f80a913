-- A group buy fills when required_size members (the initiator's own join included) join
-- before it expires.
-- Incremental: a daily run recomputes only the group buys new rows touch, each from all its joins.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='group_buy_id',
          on_schema_change='fail', post_hook="{{ record_watermark() }}") }}
{% set touched = touched_campaign_keys(ref('stg_group_buys'), 'group_buy_id', 'group_buy_join') if is_incremental() %}
select
    group_buy_id,
    initiator_user_token,
    item_id,
    required_size,
    created_at,
    expires_at,
    actions as joiners,
    completed_at as filled_at,
    is_completed as is_filled,
    minutes_to_complete as minutes_to_fill
from ({{ campaign_progress(ref('stg_group_buys'), 'group_buy_id', 'required_size', 'group_buy_join', touched) }})
