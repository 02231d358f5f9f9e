"""The learner's lab: tools for studying the derivation and a trained network (shapes, saliency, attack,
lr-find, and their pictures and outputs) and for checking a learner's own derivation (`grade`)."""
