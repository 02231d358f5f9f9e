"""BLAS threads while training: one, unless the user chose a number in the environment.

At this network's sizes a matrix product takes microseconds. Handing half of it to a second thread
costs about as much as it saves, and on a shared machine a busy core turns each hand-off into a wait:
on this project's 2-core machine, with other work running, `nnapp train configs/digits.yaml` took
2.8 s with two OpenBLAS threads and 0.26 s with one (benchmarks/results.md reports the settings).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def user_chose_threads() -> bool:
    return any(os.environ.get(name) for name in THREAD_VARIABLES)


@contextmanager
def training_threads() -> Iterator[None]:
    """Limit BLAS to one thread inside the block, unless one of THREAD_VARIABLES is set."""
    if user_chose_threads():
        yield
        return
    from threadpoolctl import threadpool_limits  # comes with scikit-learn; imported only to train

    with threadpool_limits(limits=1, user_api="blas"):
        yield
