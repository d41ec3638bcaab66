"""Command-line reports: the same numbers as the dashboard pages, from cxloop.metrics.service."""
