-- DP input: one row per share campaign, owned by the user who started it (the privacy unit).
-- Reach counts other users' arrivals; releases clamp it per campaign (see privacy/releases.yml).
-- Incremental: a daily run rewrites only the campaigns mart_share_campaigns recomputed (the
-- same touched_campaigns, against this model's watermark); its pre-hook deletes them first, so
-- a campaign a withdrawal took out of mart_share_campaigns leaves here too.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='campaign_id',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where campaign_id in ({{ touched_campaigns() }}){% endif %}",
          post_hook="{{ record_watermark() }}") }}
-- depends_on: {{ ref('int_events') }}, {{ ref('dim_consent') }}
select
    c.campaign_id,
    s.sharer_token as user_token,
    s.shared_at as started_at,
    c.started_on,
    coalesce(c.category, 'unknown') as category,
    c.shares,
    c.reached_users,
    case
        when c.reached_users = 0 then '0'
        when c.reached_users = 1 then '1'
        when c.reached_users < 5 then '2-4'
        when c.reached_users < 10 then '5-9'
        else '10+'
    end as reach_bucket
from {{ ref('mart_share_campaigns') }} as c
inner join {{ ref('int_share_cascades') }} as s on c.campaign_id = s.share_id
{% if is_incremental() %}
where c.campaign_id in ({{ touched_campaigns() }})
{% endif %}
