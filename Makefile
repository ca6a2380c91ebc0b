# The two commands of the README. Both set everything up first (scripts/setup is idempotent).
PY := .venv/bin/python

.PHONY: setup run test bench samples
setup:
	@scripts/setup

run: setup  ## the sessions job on the bundled sample data, in a local MiniCluster
	$(PY) -m jobs.sessions $(ARGS)

test: setup  ## the whole test suite (starts its own Kafka broker and Flink cluster)
	$(PY) -m pytest $(PYTEST_ARGS)

samples: setup  ## regenerate the bundled sample data (deterministic)
	$(PY) -m samples.generate

bench: setup  ## every job vs Flink SQL vs the seed's simulation (see docs/performance.md); ARGS="--jobs sessions --sizes 20000,100000"
	$(PY) -m bench $(ARGS)
