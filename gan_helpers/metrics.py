"""Measures of a set of generated digits, as plain NumPy functions (notebook 10)."""

import math
from collections.abc import Sequence

import numpy as np

NEAR_COPY_QUANTILE = 0.01


def _plogq(p: np.ndarray, q: np.ndarray | float) -> np.ndarray:
    """``p * log(p / q)`` elementwise, with the convention ``0 * log(0 / q) = 0``."""
    p = np.asarray(p, dtype=np.float64)
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), p.shape)
    out = np.zeros_like(p)
    used = p > 0
    out[used] = p[used] * (np.log(p[used]) - np.log(q[used]))
    return out


def classifier_score(probabilities: np.ndarray) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))``, the MNIST analogue of the Inception Score: 10 for
    confident predictions spread evenly over the ten classes, 1 for a single class."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    marginal = probabilities.mean(axis=0, keepdims=True)
    return float(np.exp(_plogq(probabilities, marginal).sum(axis=1).mean()))


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``features`` (rows are samples), in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need features of shape (N >= 2, F), got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_from_stats(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """``||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2})`` for two Gaussians."""
    # S_a S_b has the eigenvalues of the symmetric S_a^1/2 S_b S_a^1/2: eigvalsh is reliable.
    values, vectors = np.linalg.eigh(cov_a)
    sqrt_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)).sum()
    diff = mu_a - mu_b
    distance = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
    return max(float(distance), 0.0)  # never negative but for round-off


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples); biased
    upwards with few samples, so compare distances from equal numbers of samples."""
    return frechet_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b))


def class_histogram(probabilities: np.ndarray) -> np.ndarray:
    """Fraction of images whose most probable class is each digit: float64, length 10."""
    predicted = np.asarray(probabilities).argmax(axis=1)
    return np.bincount(predicted, minlength=10) / max(len(predicted), 1)


def kl_from_uniform(fractions: np.ndarray) -> float:
    """``KL(fractions || uniform)`` in nats: 0 if balanced, ``log(K)`` for a single class."""
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or np.any(fractions < 0) or fractions.sum() <= 0:
        raise ValueError("fractions must be a non-negative 1-D array with a positive sum")
    return float(_plogq(fractions / fractions.sum(), 1.0 / len(fractions)).sum())


def _flat(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, dtype=np.float32).reshape(len(images), -1)


def squared_norms(flat: np.ndarray) -> np.ndarray:
    """``||row||^2`` of each row of a 2-D array."""
    # Not einsum: sum() adds pairwise, whose smaller round-off keeps copies at distance ~0.
    return (flat * flat).sum(axis=1)


def _squared_distances(
    points: np.ndarray, reference: np.ndarray, reference_sq: np.ndarray
) -> np.ndarray:
    squared = squared_norms(points)[:, np.newaxis] - 2.0 * (points @ reference.T)
    squared += reference_sq[np.newaxis, :]
    return np.clip(squared, 0.0, None, out=squared)


def nearest_neighbours(
    queries: np.ndarray,
    reference: np.ndarray,
    batch_size: int = 256,
    reference_sq: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Index of and distance to each query's nearest ``reference`` image (float32, about 1e-3
    round-off); for a reference searched often, pass ``reference_sq=squared_norms(reference)``."""
    queries, reference = _flat(queries), _flat(reference)
    reference_sq = squared_norms(reference) if reference_sq is None else reference_sq
    indices, distances = np.empty(len(queries), np.int64), np.empty(len(queries), np.float64)
    for start in range(0, len(queries), batch_size):
        rows = slice(start, start + batch_size)
        squared = _squared_distances(queries[rows], reference, reference_sq)
        indices[rows] = squared.argmin(axis=1)
        distances[rows] = np.sqrt(np.take_along_axis(squared, indices[rows, None], 1)[:, 0])
    return indices, distances


def near_copy_share(
    generated_distances: np.ndarray,
    real_distances: np.ndarray,
    quantile: float = NEAR_COPY_QUANTILE,
) -> tuple[float, float]:
    """``(share, threshold)``: share of generated images nearer the training set than the
    ``quantile`` of real test digits; about ``quantile`` for new digits, far above for copies."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be between 0 and 1, got {quantile!r}")
    generated = np.asarray(generated_distances, dtype=np.float64).ravel()
    real = np.asarray(real_distances, dtype=np.float64).ravel()
    if len(generated) == 0 or len(real) == 0:
        raise ValueError("both distance arrays need at least one value")
    threshold = float(np.quantile(real, quantile))
    return float(np.mean(generated < threshold)), threshold


def _parzen(
    samples: np.ndarray, points: np.ndarray, sigmas: Sequence[float], batch_size: int
) -> np.ndarray:
    """(len(sigmas), len(points)) log-likelihoods, sharing one distance matrix per batch."""
    samples, points = _flat(samples), _flat(points)
    n, dim = samples.shape
    samples_sq = squared_norms(samples)
    result = np.empty((len(sigmas), len(points)), dtype=np.float64)
    for start in range(0, len(points), batch_size):
        squared = _squared_distances(points[start : start + batch_size], samples, samples_sq)
        # Shifted by each row's nearest sample, exp() stays in (0, 1] and its top term is exact.
        closest = squared.min(axis=1, keepdims=True)
        for row, sigma in enumerate(np.asarray(sigmas, dtype=np.float64)):
            total = np.exp((squared - closest) * np.float32(-0.5 / sigma**2)).sum(1, np.float64)
            log_sum = np.log(total) - 0.5 * closest[:, 0].astype(np.float64) / sigma**2
            normaliser = math.log(n) + 0.5 * dim * math.log(2.0 * math.pi * sigma**2)
            result[row, start : start + batch_size] = log_sum - normaliser
    return result


def parzen_log_likelihood(
    samples: np.ndarray, points: np.ndarray, sigma: float, batch_size: int = 500
) -> np.ndarray:
    """Log-likelihood (nats) of each of ``points`` under a Gaussian Parzen window on ``samples``."""
    return _parzen(samples, points, [sigma], batch_size)[0]


def select_parzen_sigma(
    samples: np.ndarray,
    validation: np.ndarray,
    sigmas: Sequence[float] = tuple(np.logspace(-1, 0, 10)),
    batch_size: int = 500,
) -> float:
    """The ``sigma`` among ``sigmas`` that gives ``validation`` the highest mean log-likelihood."""
    means = _parzen(samples, validation, sigmas, batch_size).mean(axis=1)
    return float(np.asarray(sigmas, dtype=np.float64)[int(np.argmax(means))])
