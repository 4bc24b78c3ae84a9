"""Reading and writing files: YAML catalogs and overrides, operations logs, atomic outputs."""
