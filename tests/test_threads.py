"""The thread override: training runs BLAS on one thread unless the user chose a number."""

import numpy  # noqa: F401  (loads the BLAS that threadpoolctl then sees)
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from nnapp.training.threads import THREAD_VARIABLES, training_threads


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.fixture
def two_blas_threads(monkeypatch):
    """No thread variable set, and BLAS on two threads around the block (as on this 2-core machine)."""
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with threadpool_limits(limits=2, user_api="blas"):
        if blas_threads() != {2}:
            pytest.skip("this BLAS cannot run on two threads here")
        yield


def test_training_runs_blas_on_one_thread(two_blas_threads):
    with training_threads():
        assert blas_threads() == {1}
    assert blas_threads() == {2}  # and gives the threads back afterwards


@pytest.mark.parametrize("variable", THREAD_VARIABLES)
def test_a_thread_count_the_user_chose_is_left_alone(two_blas_threads, monkeypatch, variable):
    monkeypatch.setenv(variable, "2")
    with training_threads():
        assert blas_threads() == {2}
