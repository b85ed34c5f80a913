-- A bargain completes when `helps_needed` helps arrive before it expires. Each bargain_help
-- event is a help the app accepted (it logs no refused helps).
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
from ({{ campaign_progress(ref('stg_bargains'), 'bargain_id', 'helps_needed', 'bargain_help') }})
