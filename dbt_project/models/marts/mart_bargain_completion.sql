-- Bargain-help chains per day and category: completion rate, helpers, time to complete.
-- Incremental: a daily run rebuilds only the start days of bargains new rows touch, and the
-- days consent events reach (an item's category on past days is the one it had when they
-- were built; --full-refresh relabels).
-- (refs in incremental-only macros: dbt infers dependencies at parse time)
-- depends_on: {{ ref('stg_bargains') }}, {{ ref('int_events') }}, {{ ref('dim_consent') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='created_on',
          on_schema_change='fail',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ bargain_days_changed('created_on') }}{% endif %}",
          post_hook="{{ record_watermark() }}") }}
{{ campaign_starts(ref('int_bargain_chains'), ['is_completed', 'helpers', 'minutes_to_complete'],
                   bargain_days_changed('created_on') if is_incremental() else none) }}

{# Small cells (meta counts_people): a category with fewer than k initiators on a day is pooled
   into 'other' for that day; a pool still under k is left out. #}
{{ pooled_cells('days', ['created_on'], 'category', 'initiator_user_token', '
    count(*) as bargains,
    count(case when s.is_completed then 1 end) as completed,
    count(case when s.is_completed then 1 end) / count(*) as completion_rate,
    avg(s.helpers) as avg_helpers,
    median(s.minutes_to_complete) as median_minutes_to_complete', 'initiators') }}
