"""The rules engine: app state, console operations (R1-R11, R14) and group limits (R5, R12, R13)."""
