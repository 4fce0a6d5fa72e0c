"""Metrics, reports and benchmarks."""
