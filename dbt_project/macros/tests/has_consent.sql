{# Fails with the offending (pseudonymous) user tokens when a purpose mart holds a user whose
   consent for `purpose` did not hold: at the row's time `at`, or now when `at` is not given. #}
{% test has_consent(model, column_name, purpose, at=none) %}
select m.{{ column_name }} as user_token{% if at %}, m.{{ at }} as at_time{% endif %}
from (select * from {{ model }}) as m  -- `model` may be a filtered subquery (get_where_subquery)
where m.{{ column_name }} is not null
  and not (
    {% if at %}{{ consented_at(purpose, 'm.' ~ column_name, 'm.' ~ at) }}
    {% else %}{{ consented_now(purpose, 'm.' ~ column_name) }}{% endif %}
  )
{% endtest %}
