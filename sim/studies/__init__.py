"""Multi-run analyses: studies that play the model many times (calibration, sweeps, backtests)."""
