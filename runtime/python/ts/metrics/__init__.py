"""Metrics a handler records through context.metrics. This server keeps
them in memory (the Prometheus endpoint is the C side's); see metric_cache."""
