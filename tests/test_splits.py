"""Loading without scikit-learn gives exactly what scikit-learn gives."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnapp.data import bundled
from nnapp.data.splits import encode_labels, standard_scale, stratified_split


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(2, 30), min_size=2, max_size=5),
    test_size=st.sampled_from([0.1, 0.2, 0.25, 1 / 3, 0.5]),
    seed=st.integers(0, 2**31 - 1),
    shuffle_seed=st.integers(0, 1000),
)
def test_stratified_split_draws_the_rows_train_test_split_draws(counts, test_size, seed, shuffle_seed):
    from sklearn.model_selection import train_test_split

    y = np.random.default_rng(shuffle_seed).permutation(np.repeat(np.arange(len(counts)), counts))
    indices = np.arange(100, 100 + len(y))  # not 0..n-1: the split must return the given indices
    try:
        expected = train_test_split(indices, test_size=test_size, random_state=seed, stratify=y)
    except ValueError:
        with pytest.raises(ValueError):
            stratified_split(indices, y, test_size, seed)
        return
    train, test = stratified_split(indices, y, test_size, seed)
    np.testing.assert_array_equal(train, expected[0])
    np.testing.assert_array_equal(test, expected[1])


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 40), cols=st.integers(1, 5), seed=st.integers(0, 2**16), constant=st.booleans())
def test_standard_scale_matches_standard_scaler(rows, cols, seed, constant):
    from sklearn.preprocessing import StandardScaler

    X = np.random.default_rng(seed).normal(3.0, 2.0, (rows, cols))
    if constant:
        X[:, 0] = 0.1  # a constant column is scaled by 1, not divided by ~0
    scaler = StandardScaler().fit(X)
    mean, scale, var = standard_scale(X)
    np.testing.assert_allclose(mean, scaler.mean_, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(scale, scaler.scale_, rtol=1e-12)
    np.testing.assert_allclose(var, scaler.var_, rtol=1e-12, atol=1e-30)


def test_labels_encode_like_label_encoder():
    from sklearn.preprocessing import LabelEncoder

    labels = np.array(["b", "a", "c", "a", "b"])
    classes, codes = encode_labels(labels)
    encoder = LabelEncoder()
    np.testing.assert_array_equal(codes, encoder.fit_transform(labels))
    np.testing.assert_array_equal(classes, encoder.classes_)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
def test_bundled_files_read_as_scikit_learn_loads_them(name):
    from sklearn import datasets

    shipped = bundled.load(name)
    assert shipped is not None, "scikit-learn's data files were not found"
    X, labels, feature_names = shipped
    bunch = getattr(datasets, f"load_{name}")()
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(labels, np.asarray(bunch.target_names)[bunch.target])
    assert feature_names == [str(n) for n in bunch.feature_names]


def test_an_unknown_bundled_name_asks_scikit_learn():
    assert bundled.load("moons") is None
