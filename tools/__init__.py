"""Tools around the jobs: the Kafka load generator (python -m tools.loadgen)."""
