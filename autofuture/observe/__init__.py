"""Seeing a run: the trace, the progress bar, the report, the log."""
