"""Observability: request counts and latencies, the request and slow-query logs, /metrics."""
