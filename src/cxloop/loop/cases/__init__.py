"""Complaint cases and their service-recovery steps and SLA clocks."""
