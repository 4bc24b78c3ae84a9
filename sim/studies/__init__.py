"""Studies: analyses over several runs or replays (sweeps, backtests)."""
