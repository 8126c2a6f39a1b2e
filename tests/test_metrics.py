"""The measures of gan_helpers.metrics: known answers on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gan_helpers import metrics

# --- classifier score and class balance ------------------------------------------------------


def test_classifier_score_is_ten_for_confident_predictions_spread_over_ten_classes() -> None:
    assert metrics.classifier_score(np.tile(np.eye(10), (7, 1))) == pytest.approx(10.0)


def test_classifier_score_is_one_for_a_single_class_or_for_no_confidence() -> None:
    one_class = np.zeros((50, 10))
    one_class[:, 3] = 1.0
    assert metrics.classifier_score(one_class) == pytest.approx(1.0)
    # Spread but unsure: p(y|x) = p(y) for every image, so every KL term is zero.
    assert metrics.classifier_score(np.full((20, 10), 0.1)) == pytest.approx(1.0)


def test_class_histogram_counts_the_most_probable_class() -> None:
    probabilities = np.eye(10)[[0, 0, 1, 9]] * 0.8 + 0.02
    np.testing.assert_allclose(
        metrics.class_histogram(probabilities), [0.5, 0.25, 0, 0, 0, 0, 0, 0, 0, 0.25]
    )


def test_kl_from_uniform() -> None:
    assert metrics.kl_from_uniform(np.full(10, 0.1)) == pytest.approx(0.0, abs=1e-12)
    assert metrics.kl_from_uniform(np.eye(10)[4]) == pytest.approx(math.log(10))
    assert metrics.kl_from_uniform(np.array([5, 5] + [0] * 8)) == pytest.approx(math.log(5))
    with pytest.raises(ValueError, match="non-negative"):
        metrics.kl_from_uniform(np.array([0.5, -0.1]))


# --- Fréchet distance ------------------------------------------------------------------------


def test_frechet_distance_is_zero_for_identical_features() -> None:
    features = np.random.default_rng(0).normal(size=(300, 16))
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians() -> None:
    # Samples whitened to exactly the intended mean and covariance, so the estimate must
    # equal ||mu_a - mu_b||^2 + sum (sqrt(var_a) - sqrt(var_b))^2.
    rng = np.random.default_rng(1)
    dim, n = 8, 2000

    def exact_samples(mean: np.ndarray, variances: np.ndarray) -> np.ndarray:
        raw = rng.normal(size=(n, dim))
        raw -= raw.mean(axis=0)
        white = raw @ np.linalg.inv(np.linalg.cholesky(np.cov(raw, rowvar=False))).T
        return white * np.sqrt(variances) + mean

    mean_a, mean_b = rng.normal(size=dim), rng.normal(size=dim)
    var_a, var_b = rng.uniform(0.5, 3.0, dim), rng.uniform(0.5, 3.0, dim)
    a, b = exact_samples(mean_a, var_a), exact_samples(mean_b, var_b)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_is_symmetric_and_needs_two_samples() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(400, 12))
    b = rng.normal(size=(500, 12)) @ rng.normal(size=(12, 12)) + 1.0
    assert metrics.frechet_distance(a, b) > 1.0
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a))
    with pytest.raises(ValueError, match=r"N >= 2"):
        metrics.frechet_distance(a[:1], b)


# --- pixel measures --------------------------------------------------------------------------


def test_nearest_neighbours_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    queries = rng.uniform(size=(37, 28, 28, 1)).astype(np.float32)
    reference = rng.uniform(size=(53, 28, 28)).astype(np.float32)
    reference[5] = queries[2, ..., 0]  # an exact copy: distance 0, not NaN from sqrt(-eps)
    brute = np.linalg.norm(
        queries.reshape(37, 1, -1).astype(np.float64) - reference.reshape(1, 53, -1), axis=2
    )
    indices, distances = metrics.nearest_neighbours(queries, reference, batch_size=10)
    np.testing.assert_array_equal(indices, brute.argmin(axis=1))
    np.testing.assert_allclose(distances, brute.min(axis=1), rtol=1e-4, atol=2e-3)
    assert indices[2] == 5 and distances[2] < 2e-3
    # One query at a time, with the reference's norms computed once, gives the same answer.
    flat = reference.reshape(53, -1)
    norms = metrics.squared_norms(flat)
    one = [metrics.nearest_neighbours(q[np.newaxis], flat, reference_sq=norms) for q in queries]
    np.testing.assert_array_equal([i[0] for i, _ in one], indices)


def test_near_copy_share_counts_the_generated_images_below_the_real_tail() -> None:
    real = np.linspace(1.0, 5.0, 1001)  # the 1 % quantile is 1.04
    share, threshold = metrics.near_copy_share(real, real)
    assert threshold == pytest.approx(1.04)
    assert share == pytest.approx(0.01, abs=1e-3)
    # Fewer unusual digits lower the mean, not the share; copies raise the share.
    assert metrics.near_copy_share(np.clip(real, None, 3.0), real)[0] == pytest.approx(share)
    copies = np.concatenate([np.zeros(100), real[100:]])
    assert metrics.near_copy_share(copies, real)[0] == pytest.approx(100 / 1001)


@pytest.mark.parametrize("quantile", [0.0, 1.0, -0.1])
def test_near_copy_share_refuses_a_quantile_outside_zero_one(quantile: float) -> None:
    with pytest.raises(ValueError, match="quantile"):
        metrics.near_copy_share(np.ones(3), np.ones(3), quantile)


def test_parzen_log_likelihood_matches_a_direct_sum() -> None:
    rng = np.random.default_rng(4)
    samples, points, sigma = rng.uniform(size=(23, 6, 6)), rng.uniform(size=(9, 36)), 0.3
    squared = ((points[:, None, :] - samples.reshape(1, 23, 36)) ** 2).sum(axis=2)
    logs = -squared / (2 * sigma**2) - math.log(23) - 36 / 2 * math.log(2 * math.pi * sigma**2)
    top = logs.max(axis=1)
    direct = top + np.log(np.exp(logs - top[:, None]).sum(axis=1))
    found = metrics.parzen_log_likelihood(samples, points, sigma, batch_size=4)
    np.testing.assert_allclose(found, direct, rtol=1e-5)


def test_select_parzen_sigma_picks_the_scale_of_the_data() -> None:
    # Samples and validation points from one Gaussian of width 0.3 in 2-D: the best kernel
    # is narrower than the data but nowhere near the ends of the grid.
    rng = np.random.default_rng(5)
    samples = rng.normal(scale=0.3, size=(2000, 2))
    validation = rng.normal(scale=0.3, size=(500, 2))
    chosen = metrics.select_parzen_sigma(samples, validation, np.logspace(-3, 1, 13))
    assert 0.02 <= chosen <= 0.3
    tiny = metrics.parzen_log_likelihood(samples, validation, 1e-3).mean()
    assert metrics.parzen_log_likelihood(samples, validation, chosen).mean() > tiny
