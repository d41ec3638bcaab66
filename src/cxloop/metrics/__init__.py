"""Indicators, Pareto, root cause, emotion map and scorecards: the numbers of cxloop (issue 4)."""
