"""sim: simulation and cost analysis of IM-cloud editions, packs, limits and prorated billing."""
