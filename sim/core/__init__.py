"""The domain's vocabulary, calendar and catalog model: pure, no I/O (docs/design.md)."""
