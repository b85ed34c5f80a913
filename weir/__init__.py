"""Weir: a privacy-preserving data platform for social-commerce behaviour data.

Nothing phones home (issue 15): every library that would send usage data or check for
updates is switched off here, when `weir` is first imported, so before GX, Cosmos, dbt or
Flower are (the CLI, Airflow tasks and tests all import `weir` first). The same variables go
into the Airflow environment (`weir.airflow_env`) and every service of docker-compose.yml.
They override what the shell set: a privacy platform does not let a stray profile turn
telemetry back on.
"""

import os

TELEMETRY_OFF = {
    "GX_ANALYTICS_ENABLED": "false",  # Great Expectations usage statistics
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",  # Cosmos `[cosmos] enable_telemetry`, on by default
    "DO_NOT_TRACK": "1",  # the consoledonottrack.com convention; Cosmos reads it too
    "SCARF_NO_ANALYTICS": "true",  # Scarf usage pings (Cosmos; Airflow 2.10-3.1)
    "FLWR_TELEMETRY_ENABLED": "0",  # Flower: only "1" (the default) sends events
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",  # dbt's anonymous usage tracking
}
os.environ.update(TELEMETRY_OFF)
