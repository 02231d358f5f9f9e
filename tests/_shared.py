"""Small pieces more than one test module needs: a stop request on a count, a sweepable config."""

from __future__ import annotations

import threading


class StopAfter(threading.Event):
    """A stop request that arrives at the n-th time the trainer polls it (after each step and epoch)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.calls, self.n = 0, n

    def is_set(self) -> bool:
        self.calls += 1
        return self.calls >= self.n


# A sweep point that trains in a blink (4 epochs of iris, no checks, no pictures); add output.dir.
SMALL_SWEEP = """
name: small
seed: 0
data:
  dataset: iris
model:
  hidden: 8
train:
  epochs: 4
  batch_size: 16
gradcheck:
  every: 0
  coords: 2
output:
  plots: false
"""
