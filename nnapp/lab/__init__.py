"""The learner-facing lab: tools for working through and checking the derivation by hand."""
