-- Group buys per day and category: how many filled, and how fast.
-- Incremental: a daily run rebuilds only the start days of group buys new rows touch, and the
-- days consent events reach (an item's category on past days is the one it had when they
-- were built; --full-refresh relabels).
-- (refs in incremental-only macros: dbt infers dependencies at parse time)
-- depends_on: {{ ref('stg_group_buys') }}, {{ ref('int_events') }}, {{ ref('dim_consent') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='created_on',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ group_buy_days_changed('created_on') }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}
{{ campaign_starts(ref('int_group_buy_outcomes'), ['is_filled', 'minutes_to_fill', 'joiners'],
                   group_buy_days_changed('created_on') if is_incremental() else none) }}

{# Small cells (meta counts_people): a category with fewer than k initiators on a day is pooled
   into 'other' for that day; a pool still under k is left out. #}
{{ pooled_cells('days', ['created_on'], 'category', 'initiator_user_token', '
    count(*) as group_buys,
    count(case when s.is_filled then 1 end) as filled,
    count(case when s.is_filled then 1 end) / count(*) as success_rate,
    median(s.minutes_to_fill) as median_minutes_to_fill,
    avg(s.joiners) as avg_joiners', 'initiators') }}
