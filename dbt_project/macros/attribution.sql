{# The orders whose attribution rows loaded since the model's watermark can change: new
   orders; orders of buyers whose analytics consent changed; orders of buyers with new
   share-link arrivals on the item within the window before the order (late events too); and
   orders attributed (in `attributions`) to a share that is new or whose sharer's consent
   changed (the sharer's token shows only while their consent holds). #}
{% macro touched_orders(attributions) -%}
    {%- set changed = analytics_consent_changed() -%}
    select o.order_id from {{ ref('int_orders') }} as o
    where {{ loaded_since_watermark('o') }} or o.user_token in ({{ changed }})
    union
    select o.order_id from {{ ref('int_orders') }} as o
    inner join {{ ref('int_events') }} as e on e.user_token = o.user_token and e.item_id = o.item_id
    where {{ loaded_since_watermark('e') }} and e.channel = 'share_link' and e.share_id is not null
      and e.event_type <> 'share'
      and e.ts <= o.ordered_at and e.ts > o.ordered_at - interval '{{ var('attribution_window_days', 7) }} days'
    union
    select a.order_id from {{ attributions }} as a
    inner join {{ ref('int_share_cascades') }} as s
        on s.share_id = a.first_touch_share_id or s.share_id = a.last_touch_share_id
    where s.sharer_token in ({{ changed }})
       or s.share_id in (
           select e.share_id from {{ ref('int_events') }} as e
           where e.event_type = 'share' and {{ loaded_since_watermark('e') }})
{%- endmacro %}

{# The order weeks mart_referral_attribution rebuilds, each week whole (its k-anonymity classes
   are within a week): the weeks of the orders touched_orders names. #}
{% macro touched_order_weeks() -%}
    select distinct cast(date_trunc('week', o.order_date) as date) from {{ ref('int_orders') }} as o
    where o.order_id in ({{ touched_orders(ref('int_order_attributions')) }})
{%- endmacro %}

{# The users whose analytics consent changed since the model's watermark. #}
{% macro analytics_consent_changed() -%}
    select user_token from {{ ref('dim_consent') }}
    where purpose = 'analytics' and loaded_at > {{ watermark() }}
{%- endmacro %}
