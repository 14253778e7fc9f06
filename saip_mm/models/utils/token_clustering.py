"""SOLIDER's semantic labels from token clustering (Chen et al., CVPR 2023, §3.2; supplementary,
Algorithm 1, lines 5–10).

Per image, the teacher's patch tokens (at λ = 1) are

1. split into background and foreground by 2-means on their L2 magnitudes; the cluster of larger mean
   magnitude is the foreground (a person's tokens carry more energy than the background's);
2. the foreground tokens are clustered by k-means into ``N`` parts;
3. the parts are numbered 1..N from top to bottom by their mean row (the fixed vertical order of a
   standing person makes part k mean the same body region in every image); background is 0.

An image whose foreground holds no more than ``min_foreground`` of its tokens (the public SOLIDER code
skips those: the split is unreliable), or fewer tokens than parts, gets no labels.

Both k-means start deterministically (magnitudes: the smallest and largest; parts: the mean token of
``N`` horizontal bands of the foreground), so that labels are a function of the tokens alone.
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor


def kmeans(x: Tensor, centers: Tensor, iters: int = 20) -> Tuple[Tensor, Tensor]:
    """Lloyd's k-means from given initial centres.

    Args:
        x (Tensor): Points ``(M, C)``.
        centers (Tensor): Initial centres ``(K, C)``.
        iters (int): At most this many assignment / update rounds (stops when stable).

    Returns:
        tuple: ``labels`` ``(M,)`` in 0..K-1 and the final ``centers`` ``(K, C)``; a centre that loses
        all its points keeps its place.
    """
    centers = centers.clone()
    labels = torch.cdist(x, centers).argmin(1)
    for _ in range(iters):
        for k in range(len(centers)):
            members = labels == k
            if members.any():
                centers[k] = x[members].mean(0)
        new = torch.cdist(x, centers).argmin(1)
        if torch.equal(new, labels):
            break
        labels = new
    return labels, centers


def foreground_tokens(tokens: Tensor) -> Tensor:
    """Foreground mask ``(L,)`` of one image's tokens ``(L, C)``: 2-means on magnitudes, the larger
    cluster's tokens (none when all magnitudes are equal: nothing to split)."""
    norms = tokens.norm(dim=-1, keepdim=True)
    if float(norms.max() - norms.min()) <= 1e-6 * float(norms.max().clamp(min=1e-12)):
        return torch.zeros(len(tokens), dtype=torch.bool, device=tokens.device)
    labels, centers = kmeans(norms, torch.stack([norms.min(0).values, norms.max(0).values]))
    return labels == int(centers[:, 0].argmax())


def semantic_part_labels(tokens: Tensor, grid: Sequence[int], num_parts: int = 3,
                         min_foreground: float = 0.5) -> Tuple[Tensor, Tensor]:
    """Token labels of a batch: 0 background, 1..N foreground parts from top to bottom.

    Args:
        tokens (Tensor): Patch tokens ``(B, rows*cols, C)`` (row-major grid).
        grid (Sequence[int]): ``(rows, cols)``.
        num_parts (int): N. Defaults to 3 (SOLIDER).
        min_foreground (float): An image is labelled only if its foreground holds more than this
            fraction of its tokens. Defaults to 0.5 (the public SOLIDER code).

    Returns:
        tuple: ``labels`` ``(B, rows, cols)`` long (all 0 for an unlabelled image) and ``valid``
        ``(B,)`` bool, the labelled images.
    """
    rows, cols = int(grid[0]), int(grid[1])
    b, length, _ = tokens.shape
    if length != rows * cols:
        raise ValueError(f'{length} tokens do not fill a {rows}x{cols} grid')
    tokens = tokens.detach().float()
    row_of = torch.arange(length, device=tokens.device) // cols
    labels = torch.zeros(b, length, dtype=torch.long, device=tokens.device)
    valid = torch.zeros(b, dtype=torch.bool, device=tokens.device)
    for i in range(b):
        fg = foreground_tokens(tokens[i])
        count = int(fg.sum())
        if count <= min_foreground * length or count < num_parts:
            continue
        fg_tokens, fg_rows = tokens[i][fg], row_of[fg]
        # initial centres: the mean token of N bands of the foreground (row-major order: ascending rows)
        bands = torch.arange(count, device=tokens.device) * num_parts // count
        init = torch.stack([fg_tokens[bands == k].mean(0) for k in range(num_parts)])
        parts, _ = kmeans(fg_tokens, init)
        mean_row = torch.stack([fg_rows[parts == k].float().mean() if (parts == k).any()
                                else torch.tensor(float('inf'), device=tokens.device)
                                for k in range(num_parts)])
        rank = torch.empty(num_parts, dtype=torch.long, device=tokens.device)
        rank[torch.argsort(mean_row)] = torch.arange(num_parts, device=tokens.device)
        labels[i, fg] = rank[parts] + 1
        valid[i] = True
    return labels.view(b, rows, cols), valid


__all__ = ['foreground_tokens', 'kmeans', 'semantic_part_labels']
