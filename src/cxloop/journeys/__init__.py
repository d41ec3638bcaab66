"""Journeys (自动化旅程): triggers, waits, conditions and actions that care for each customer along the way."""
