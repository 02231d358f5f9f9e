"""Orchestration: a run prepared, executed and written (job, outputs, experiment) and its report.md."""
