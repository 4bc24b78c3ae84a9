"""Matplotlib figures and self-contained HTML: reports, comparisons, batch indexes."""
