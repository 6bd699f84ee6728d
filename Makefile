# Two commands matter: `make run` (the stack with a simulated 2015) and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
UV_VERSION := 0.13.8
export PYTHONUNBUFFERED := 1

.PHONY: setup up down status run test test-unit lint typecheck bench bench-compare chaos redrive simulate rebuild clean token kafka-principal kafka-quota failover pg-rejoin backup restore

setup: .venv/.synced web/node_modules/.package-lock.json

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install -q "uv==$(UV_VERSION)"
	uv sync --frozen --python 3.11
	@touch $@

# Apache ECharts for the dashboard, pinned by web/package-lock.json, served by reporting itself.
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	@touch $@

up: setup
	bash stack/system-deps.sh
	$(PY) -m stack.localstack up

down:
	@if [ -x $(PY) ]; then $(PY) -m stack.localstack down; fi

status: setup
	$(PY) -m stack.localstack status

# Foreground: the stack, a simulated 2015 fed into it (DEMO=0 skips), logs until Ctrl-C.
run: up
	@if [ "$${DEMO:-1}" != "0" ]; then $(PY) -m simulator --year 2015 --enterprises $${DEMO_ENTERPRISES:-3000} --seed 2015; fi
	$(PY) -m stack.localstack run

# The whole suite against a real broker and database (a disposable stack under .local/test).
# TEST_WORKERS pytest-xdist workers: the shared stack's modules run in one, each stack of
# its own in one (tests/conftest.py); TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
test: setup lint typecheck
	bash stack/system-deps.sh
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadscope

test-unit: setup
	$(PY) -m pytest tests/unit

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup
	$(PY) -m mypy

bench: setup
	$(PY) -m bench

# The bench's quick phases of BASE and of this checkout, back to back: BASE=<git revision>.
bench-compare: setup
	$(PY) -m bench.compare

# Faults while events flow (one node, then a three-node cluster): prints a table and a RESULT line.
chaos: setup
	bash stack/system-deps.sh
	$(PY) -m chaos

# A sign-in token for the local stack (8 hours): ROLES=reader to read, approver, treasurer, sender.
token: setup
	@$(PY) -m stack.dev_auth $${WHO:-alice} $${ROLES:-approver}

simulate: setup
	$(PY) -m simulator --year $${YEAR:-2015} --enterprises $${ENTERPRISES:-3000} --seed $${SEED:-2015}

# Dead letters back to their source topics: make redrive ARGS="--dlq registration.intake.v1.dlq --dry-run"
redrive: setup
	$(PY) -m ops.redrive $${ARGS}

rebuild: setup
	$(PY) -m services.reporting rebuild

# PostgreSQL's durability (docs/durability.md): with PG_STANDBY=1 `make up` runs a
# synchronous standby; failover promotes it and fences the old primary; pg-rejoin rebuilds
# that one as the new standby. backup takes a base backup; restore recovers to AT (ISO
# 8601 with zone) or to the end of the WAL archive.
failover: setup
	$(PY) -m stack.localstack failover

pg-rejoin: setup
	$(PY) -m stack.localstack pg-rejoin

backup: setup
	$(PY) -m stack.localstack backup

restore: setup
	$(PY) -m stack.localstack restore $(if $(AT),--at "$(AT)")

clean: down
	rm -rf .local/run .local/logs .local/kafka .local/pg .local/test*

# A sender's or reader's Kafka principal on a running SASL_SSL stack (ops/kafka_admin.py):
#   make kafka-principal NAME=kjt KIND=sender EVENT_TYPES=HighTechCertified [CARRIERS=INC-0001] [QUOTA=1048576]
# prints its client settings as KEY=VALUE lines; run again to rotate its password. A
# sender's produce quota (bytes/s) is set by Kafka's ConfigCommand from the stack's jars;
#   make kafka-quota NAME=kjt QUOTA=2097152
# changes it.
KAFKA_LIBS ?= $(CURDIR)/.local/kafka-libs
export KAFKA_LIBS
kafka-principal: setup
	@$(PY) -m ops.kafka_admin principal "$(NAME)" --kind "$(KIND)" --event-types "$(EVENT_TYPES)" --carriers "$(CARRIERS)" \
		$(if $(QUOTA),--produce-bytes-per-second "$(QUOTA)")

kafka-quota: setup
	@$(PY) -m ops.kafka_admin quota "$(NAME)" "$(QUOTA)"
