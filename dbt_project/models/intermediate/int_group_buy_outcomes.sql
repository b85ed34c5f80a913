-- A group buy fills when required_size members (the initiator's own join included) join
-- before it expires.
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
from ({{ campaign_progress(ref('stg_group_buys'), 'group_buy_id', 'required_size', 'group_buy_join') }})
