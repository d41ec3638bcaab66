"""Improvement tasks routed to departments."""
