"""Class labels for unlabelled images, by clustering them: a conditional GAN trained on the clusters ("self-
conditioning", Liu et al. 2020, "Diverse Image Generation via Self-Conditioned GANs") recovers much of what real
labels give.

The features are the pixels' first principal components (the covariance's eigenvectors for small pictures; for
large ones the Gram matrix's, of at most FIT_IMAGES pictures drawn by a seed: exact when there are no more; the same
clusters on every machine), grouped by k-means into clusters of equal size: k-means++ starts from a seeded
generator, then Lloyd's iterations whose assignment gives every cluster N/k images (Sinkhorn's balancing of an
entropic transport plan, as SeLa and SwAV balance theirs), until no image changes cluster. Equal clusters scored
better than plain k-means' (1,365 to 4,985 images on Fashion-MNIST) in docs/benchmarks.md: a G told which of 20
equal parts of the data to draw splits the large, mixed clusters plain k-means leaves.
"""

from __future__ import annotations

import math

import torch

from gankit.progress import phase

# principal components kept: enough for the shapes that tell kinds of picture apart, few enough for fast k-means
COMPONENTS = 50
MAX_ITERATIONS = 100
# images turned into features at a time (bounded memory on large folders), and at most about this many pixel
# values at a time (10,000 pictures of 28 px; 650 of 64 px RGB, 31 MB where 5,000 at once held a gigabyte)
CHUNK = 10_000
CHUNK_VALUES = 8_000_000
# pictures of up to this many values get the exact covariance; larger ones the Gram matrix of at most FIT_IMAGES of
# them (2,048 images of 64 px RGB: seconds), CHUNK_PIXELS columns at a time
EXACT_PIXELS = 4096
FIT_IMAGES = 2048
CHUNK_PIXELS = 4096
# the balanced assignment: the transport's entropy as a fraction of the mean squared distance (SwAV's 0.05), and
# Sinkhorn's rounds of making every image's mass 1 and every cluster's N/k
EPSILON = 0.05
SINKHORN_ROUNDS = 30


def principal_components(images: torch.Tensor, components: int = COMPONENTS, seed: int = 0,
                         exact_pixels: int = EXACT_PIXELS, fit_images: int = FIT_IMAGES) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 (N, components): the pixels projected on their main directions of variance.

    Up to `exact_pixels` values a picture (28 px grey: 784), from the pixels' covariance. Larger pictures would make
    that matrix huge (64 px RGB: 12,288 squared, 1.2 GB and minutes of `eigh`), so their directions come from the
    Gram matrix of at most `fit_images` of them drawn by `seed` (all when fewer), whose eigenvectors give the same
    directions: the cost grows with the pixels, not with their cube."""
    flat = images.flatten(1)
    if flat.shape[1] <= exact_pixels:
        mean, basis = _covariance_directions(flat, components)
    else:
        mean, basis = _gram_directions(flat, components, seed, fit_images)
    rows = max(1, min(CHUNK, CHUNK_VALUES // flat.shape[1]))
    return torch.cat([(part.float() / 255 - mean) @ basis for part in flat.split(rows)])


def _covariance_directions(flat: torch.Tensor, components: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, D) -> the pixels' mean (D,) and their top directions (D, components), float32, exactly."""
    mean = torch.zeros(flat.shape[1], dtype=torch.float64)
    gram = torch.zeros(flat.shape[1], flat.shape[1], dtype=torch.float64)
    for part in flat.split(CHUNK):
        part = part.double() / 255
        mean += part.sum(0)
        gram += part.T @ part
    mean /= len(flat)
    covariance = gram / len(flat) - torch.outer(mean, mean)
    _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
    return mean.float(), vectors[:, -min(components, flat.shape[1]):].float()


def _gram_directions(flat: torch.Tensor, components: int, seed: int,
                     fit_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, D) -> mean (D,) and top directions (D, <= components), float32, from the (n, n) Gram matrix of n <=
    `fit_images` centred pictures: Gu = lu gives the covariance's direction X^T u / sqrt(l). Directions without variance
    (identical pictures) are left out."""
    if len(flat) > fit_images:
        flat = flat[torch.randperm(len(flat), generator=torch.Generator().manual_seed(seed))[:fit_images].sort().values]
    mean = flat.sum(0, dtype=torch.float64) / (len(flat) * 255)
    columns = [slice(i, i + CHUNK_PIXELS) for i in range(0, flat.shape[1], CHUNK_PIXELS)]

    def centred(cols: slice) -> torch.Tensor:  # (n, columns) float64: a slice at a time bounds the memory
        return flat[:, cols].double() / 255 - mean[cols]

    gram = sum(part @ part.T for part in map(centred, columns))
    values, vectors = torch.linalg.eigh(gram)  # ascending
    keep = values > values[-1].clamp_min(1e-300) * 1e-10
    values, vectors = values[keep][-components:], vectors[:, keep][:, -components:]
    scale = vectors / values.sqrt()
    basis = torch.cat([centred(cols).T @ scale for cols in columns])
    return mean.float(), basis.float()


def balanced_assignment(features: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """(N, D), (k, D) -> int64 (N,): each row's cluster, near the nearest centre while every cluster takes about
    N/k rows."""
    cost = torch.cdist(features, centres).square()
    log_plan = -cost / (EPSILON * cost.mean().clamp_min(1e-12))
    cluster_mass = math.log(len(features) / len(centres))
    for _ in range(SINKHORN_ROUNDS):
        log_plan -= log_plan.logsumexp(1, keepdim=True)
        log_plan -= log_plan.logsumexp(0, keepdim=True) - cluster_mass
    return log_plan.argmax(1)


def kmeans(features: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """(N, D) -> int64 cluster of each row, clusters of about N/k rows each, numbered by size (0: the largest)."""
    generator = torch.Generator().manual_seed(seed)
    centres = features[torch.randint(len(features), (1,), generator=generator)]
    nearest = torch.cdist(features, centres).squeeze(1).square()
    for _ in range(k - 1):  # k-means++: each new centre drawn in proportion to the squared distance to the nearest
        centre = features[torch.multinomial(nearest / nearest.sum(), 1, generator=generator)]
        centres = torch.cat([centres, centre])
        nearest = torch.minimum(nearest, torch.cdist(features, centre).squeeze(1).square())
    assigned = balanced_assignment(features, centres)
    for _ in phase(range(MAX_ITERATIONS), f"clustering {len(features):,} images into {k} groups", unit="round"):
        counts = torch.bincount(assigned, minlength=k)
        sums = torch.zeros_like(centres).index_add_(0, assigned, features)
        centres = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centres)
        moved = balanced_assignment(features, centres)
        if torch.equal(moved, assigned):
            break
        assigned = moved
    order = torch.argsort(torch.bincount(assigned, minlength=k), descending=True, stable=True)
    return torch.argsort(order)[assigned]


def cluster_images(images: torch.Tensor, k: int, seed: int = 0) -> tuple[torch.Tensor, tuple[str, ...]]:
    """uint8 (N, C, H, W) -> (int64 labels (N,), class names "cluster 0".."cluster k-1", 0 the largest)."""
    labels = kmeans(principal_components(images), k, seed)
    return labels, tuple(f"cluster {i}" for i in range(k))
