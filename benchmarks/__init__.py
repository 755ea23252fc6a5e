"""Benchmarks: the service against simpler ways of serving its models (`python -m benchmarks`)."""
