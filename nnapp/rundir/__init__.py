"""rundir layer."""
