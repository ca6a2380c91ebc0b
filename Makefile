# The two commands of the README. Both set everything up first (scripts/setup is idempotent).
PY := .venv/bin/python
# Maven as scripts/setup runs it: quiet, no colour codes in make's output (see there).
MVN := MAVEN_OPTS="$(MAVEN_OPTS) -Djansi.noreset=true" mvn --quiet --batch-mode --no-transfer-progress -Dstyle.color=never -f pom.xml

.PHONY: setup run test test-jvm test-unit test-ops lint format bench bench-env bench-peers bench-kafka-source bench-scaling bench-state samples
setup:
	@scripts/setup

run: setup  ## the sessions job on the bundled sample data, in a local MiniCluster
	$(PY) -m jobs.sessions $(ARGS)

# make test runs its files on two pytest workers (pytest-xdist), each with its own Kafka broker,
# Flink cluster and PyFlink gateway: most of a test's time is waiting (JVM start-ups, checkpoints,
# polling a running job), so two share 2 cores well (measured: 10.7 min against 15.5 in one).
# A file's tests stay on one worker. TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2

test: setup test-jvm  ## the whole test suite but the operations scenarios (starts its own Kafka brokers and Flink clusters)
	$(PY) -m pytest -m "not ops" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-jvm: setup  ## the Java's JUnit tests (jvm/src/test: functions, and operators on Flink's test harnesses)
	$(MVN) test

test-unit: setup  ## the no-JVM layer only: functions and Flink function classes called directly (seconds)
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

test-ops: setup  ## operations: failures, savepoints and rescaling, broker outage, poison input at rate, state that stops growing, application clusters: reactive scaling, JobManager failover, two hosts (docs/operations.md, docs/several-machines.md; ~12 min)
	$(PY) -m pytest -m ops $(PYTEST_ARGS)

lint: setup  ## ruff (lint + format check) and mypy, as CI runs them
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format: setup  ## apply ruff's fixes and formatting
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

samples: setup  ## regenerate the bundled sample data (deterministic)
	$(PY) -m samples.generate

bench: setup  ## every job vs Flink SQL vs the seed's simulation (see docs/performance.md); ARGS="--jobs sessions --sizes 20000,100000"
	$(PY) -m bench $(ARGS)

# The peers (Bytewax, Quix Streams) are the optional `bench` dependency group, installed into their
# own environment so that .venv (the tests') never changes; Flink, the jobs and the seed run there too.
BENCH_PY := .venv-bench/bin/python
bench-env: setup
	UV_PROJECT_ENVIRONMENT=.venv-bench uv sync --locked --group bench --quiet

bench-peers: bench-env  ## job (both window operators) vs Flink SQL vs Bytewax vs Quix Streams (local broker) vs seed; ARGS="--sizes 20000,200000"
	$(BENCH_PY) -m bench --jobs moving_average,sessions,late_data --variants default,jvm-window --paths job,sql,seed,bytewax,quix --name peers $(ARGS)

# BASELINE: the git revision whose Kafka source this checkout's is compared with (4204521: one
# watermark per reader, before per-partition watermarks).
BASELINE ?= 4204521
bench-kafka-source: setup  ## the Kafka source's events per CPU-second, this checkout against BASELINE=REV, alternating rounds
	$(PY) -m bench.kafka_source --baseline $(BASELINE) $(ARGS)

bench-scaling: setup  ## the job at parallelism 1, 2, 4 and with 1 M keys (events per CPU-second, memory per key)
	$(PY) -m bench --jobs moving_average,sessions --paths job --sizes 20000,100000 --scaling --name scaling $(ARGS)

bench-state: setup  ## state larger than memory: sessions over 1 M to 10 M keys on the heap and RocksDB (docs/state.md; ~12 min); ARGS="--keys 100000,300000"
	$(PY) -m bench.state_scale $(ARGS)
