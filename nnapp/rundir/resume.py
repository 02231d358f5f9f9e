"""The names resumed runs had before nnapp.rundir.job, kept as thin aliases for callers not yet moved."""

from __future__ import annotations

from nnapp.rundir.job import Job, execute, prepare_resume

__all__ = ["Job", "prepare_resume", "resume_experiment"]

resume_experiment = execute  # resume_experiment(prepare_resume(run_dir, epochs), callbacks, stop_event)
