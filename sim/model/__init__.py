"""The simulation: scenarios, random streams, population, decisions, the exact (SimPy) and fast
models, shards, tables and the runner."""
