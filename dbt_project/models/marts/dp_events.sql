-- DP input: one row per event of a user whose analytics consent held at the event's time.
-- User-level rows for privacy/dp releases only; never published (only noisy aggregates are).
select
    e.event_id,
    e.user_token,
    e.ts as event_at,
    e.event_date,
    e.event_type,
    e.channel,
    e.category
from {{ ref('int_events') }} as e
where {{ consented_at('analytics', 'e.user_token', 'e.ts') }}
