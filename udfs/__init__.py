"""Everything the jobs share: event schemas and parsing, time, options, environment, event time,
sources, sinks and metrics. Nothing here imports ``jobs``."""
