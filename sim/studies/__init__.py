"""Multi-run analyses above the results layer: sweeps of a scenario over a grid of keys,
backtests of a price sheet on an operations log, and calibration to observed tables."""
