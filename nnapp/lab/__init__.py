"""The learner's room: tools for studying the network rather than training it (grading a derivation, ...)."""
