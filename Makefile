# Two commands on a fresh machine: `make demo` and `make test`. Needs only python3 and make.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
# Trust the machine's CA store (package registries may sit behind a TLS-inspecting proxy).
export UV_SYSTEM_CERTS := 1
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)

.PHONY: demo test lint airflow up down bench install clean

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	touch $@

install: .venv/.synced

demo: install
	$(UV) run --frozen weir demo

test: install
	$(UV) run --frozen pytest

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

airflow: install
	$(UV) run --frozen weir airflow

# The full stack (docker-compose.yml): shared secrets in .env (made once, 0600), then compose.
up: install
	$(UV) run --frozen python -m weir.compose_env .env
	docker compose up -d --build

down:
	docker compose down

bench: install
	$(UV) run --frozen python benchmarks/bench_generate.py
	$(UV) run --frozen python benchmarks/bench_ingest.py
	$(UV) run --frozen python benchmarks/bench_scrub.py
	$(UV) run --frozen python benchmarks/bench_warehouse.py
	$(UV) run --frozen --group bench python benchmarks/bench_dp.py
	$(UV) run --frozen python benchmarks/bench_dp_utility.py
	$(UV) run --frozen python benchmarks/bench_federated.py
	$(UV) run --frozen python benchmarks/bench_orchestration.py
	$(UV) run --frozen python benchmarks/bench_report.py

clean:
	rm -rf .weir-data .pytest_cache
