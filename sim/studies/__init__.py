"""Multi-run analyses: sweeps of a scenario over a grid of keys (:mod:`sim.studies.sweep`)."""
