"""Monitoring: Prometheus metrics, input and output drift, structured logs and the access-log
middleware."""
