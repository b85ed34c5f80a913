# One image for every Weir service: Airflow components and Flower SuperLink/SuperNodes.
FROM python:3.11-slim
ENV UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/weir/.venv PATH=/opt/weir/.venv/bin:$PATH
# Nothing phones home, whatever runs in the image (weir.TELEMETRY_OFF; compose sets them too).
ENV GX_ANALYTICS_ENABLED=false AIRFLOW__COSMOS__ENABLE_TELEMETRY=False DO_NOT_TRACK=1 SCARF_NO_ANALYTICS=true \
    FLWR_TELEMETRY_ENABLED=0 DBT_SEND_ANONYMOUS_USAGE_STATS=false
RUN pip install --no-cache-dir uv
WORKDIR /opt/weir
COPY pyproject.toml uv.lock README.md ./
COPY weir weir
COPY privacy privacy
COPY federated federated
COPY expectations expectations
RUN uv sync --frozen --no-dev && uv pip install "apache-airflow-providers-celery" "psycopg2-binary"
COPY dags dags
COPY dbt_project dbt_project
