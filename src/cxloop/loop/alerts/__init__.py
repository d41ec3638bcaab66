"""Alerts: evaluating the rules over the indicators and keeping each alert's lifecycle."""
