"""Tidy figures from run tables: preparation, statistics and metrics (pandas and numpy only)."""
