"""The generated 2-D teaching datasets (spiral, xor, gauss): their shapes, their labels against the
geometry that defines them, determinism per seed, and no scikit-learn at train time."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnapp.config import load_config
from nnapp.data import generated
from nnapp.errors import ConfigError


@given(st.integers(30, 2000), st.integers(2, 9), st.integers(0, 2**32 - 1))
def test_spiral_has_centers_arms_of_near_equal_size(n_samples, arms, seed):
    X, y = generated.spiral(n_samples, 0.2, arms, seed)
    assert X.shape == (n_samples, 2) and y.shape == (n_samples,)
    counts = np.bincount(y, minlength=arms)
    assert len(counts) == arms and counts.max() - counts.min() <= 1


def test_spiral_without_noise_winds_outwards_at_four_radians_per_arm():
    X, y = generated.spiral(300, 0.0, 3, seed=0)
    for arm in range(3):
        points = X[y == arm]
        radius = np.hypot(points[:, 0], points[:, 1])
        assert np.allclose(radius, np.linspace(0, 1, 100))  # CS231n: r = linspace(0, 1)
        angle = np.unwrap(np.arctan2(points[1:, 0], points[1:, 1]))  # sin for x, cos for y
        assert angle[-1] - angle[0] == pytest.approx(4.0 * 98 / 99)


@given(st.integers(10, 2000), st.integers(0, 2**32 - 1))
def test_xor_without_noise_labels_each_quadrant(n_samples, seed):
    X, y = generated.xor(n_samples, 0.0, seed)
    assert np.all(np.abs(X) >= generated.XOR_PADDING)  # off the axes, where the class is moot
    assert np.array_equal(y, (np.sign(X[:, 0]) == np.sign(X[:, 1])).astype(int))


def test_gauss_blobs_sit_round_their_centres_with_the_given_spread():
    X, y = generated.gauss(20_000, 0.3, seed=1)
    assert np.allclose(X[y == 0].mean(axis=0), [1, 1], atol=0.05)
    assert np.allclose(X[y == 1].mean(axis=0), [-1, -1], atol=0.05)
    assert np.allclose(X[y == 0].std(axis=0), 0.8, atol=0.03)  # 0.5 + noise


@pytest.mark.parametrize("name", ["spiral", "xor", "gauss"])
def test_the_same_seed_gives_the_same_points_and_another_seed_others(name):
    a = generated.generate(name, 200, 0.2, 3, seed=4)
    b = generated.generate(name, 200, 0.2, 3, seed=4)
    c = generated.generate(name, 200, 0.2, 3, seed=5)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    assert a[0].tobytes() != c[0].tobytes()


def test_training_on_a_generated_dataset_never_imports_scikit_learn(tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from nnapp.config import load_config\n"
        "from nnapp.orchestration.job import load_data\n"
        "from nnapp.training.trainer import train\n"
        f"loaded = load_config(Path({str(tmp_path / 'c.yaml')!r}))\n"
        "train(loaded.config, load_data(loaded))\n"
        "print('sklearn' in sys.modules)\n"
    )
    (tmp_path / "c.yaml").write_text("name: s\ndata: {dataset: spiral}\ntrain: {epochs: 2}\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_spiral_with_fewer_than_ten_points_per_arm_is_refused_naming_the_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: s\ndata: {dataset: spiral, n_samples: 50, centers: 6}\n")
    with pytest.raises(ConfigError, match=r"data\.centers.*data\.n_samples >= 60") as caught:
        load_config(path)
    assert str(path) in str(caught.value)
