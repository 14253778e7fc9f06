"""Patch masks, in one place (CSR, paper §III-B, eq. 2): drawing them with exact counts, resampling them
to another grid, and using them (kept / masked indices, blanked pixels).

A mask is boolean, True = masked, one row per sample over the token grid in row-major order. Both the
model side (``SAIPDataPreprocessor``, ``SAIP``: torch generators from ``step_generator``) and the
pipeline side (``RandomPatchMask``: numpy's per-worker stream) draw it with ``random_patch_mask``.
"""
import math
from typing import List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor


def exact_mask_count(num_patches: int, ratio: float) -> int:
    """The masked count per row of every mask drawn here: ``round(ratio * num_patches)``."""
    return int(round(ratio * num_patches))


def random_patch_mask(batch: int, num_patches: int, ratio: float,
                      generator: Optional[torch.Generator] = None,
                      device: Optional[torch.device] = None) -> Tensor:
    """A boolean mask ``(batch, num_patches)`` with exactly ``round(ratio * num_patches)`` True per row.

    Args:
        batch (int): Number of rows.
        num_patches (int): Patches per row.
        ratio (float): Fraction to mask, in [0, 1).
        generator (torch.Generator, optional): RNG for reproducible masks.
        device (torch.device, optional): Device of the result.

    Returns:
        Tensor: Bool ``(batch, num_patches)``.
    """
    if not 0 <= ratio < 1:
        raise ValueError(f'mask ratio must be in [0, 1), got {ratio}')
    n_mask = exact_mask_count(num_patches, ratio)
    noise = torch.rand(batch, num_patches, generator=generator)
    ranks = noise.argsort(1).argsort(1)
    return (ranks < n_mask).to(device)


def block_patch_mask(batch: int, grid: Sequence[int], ratio: float,
                     generator: Optional[torch.Generator] = None,
                     device: Optional[torch.device] = None, min_block: int = 4,
                     aspect_range: Sequence[float] = (0.3, 1 / 0.3),
                     start: Optional[Tensor] = None, num_masked: Optional[int] = None) -> Tensor:
    """Block-wise masks (BEiT's sampling, HAP's human prior §3.1) with exact counts.

    Rectangles of ``min_block`` patches or more, aspect ratio log-uniform in ``aspect_range``, are
    masked until no block fits the remaining count; the rest, up to exactly
    ``round(ratio * rows * cols)``, is drawn at random among the unmasked patches (HAP's adjustment to
    the pre-defined masking ratio).

    Args:
        batch (int): Number of rows.
        grid (tuple): ``(rows, cols)`` of the token grid.
        ratio (float): Fraction to mask, in [0, 1).
        generator (torch.Generator, optional): RNG for reproducible masks.
        device (torch.device, optional): Device of the result.
        min_block (int): Smallest block, in patches. Defaults to 4.
        aspect_range (tuple): Range of a block's rows/cols ratio. Defaults to (0.3, 1/0.3).
        start (Tensor, optional): Bool ``(batch, rows * cols)`` already masked (HAP's part regions);
            blocks are added to it. Must not mask more than the target count.
        num_masked (int, optional): The exact count instead of ``round(ratio * rows * cols)``.

    Returns:
        Tensor: Bool ``(batch, rows * cols)``.
    """
    if not 0 <= ratio < 1:
        raise ValueError(f'mask ratio must be in [0, 1), got {ratio}')
    rows, cols = int(grid[0]), int(grid[1])
    n_mask = exact_mask_count(rows * cols, ratio) if num_masked is None else int(num_masked)
    log_lo, log_hi = math.log(aspect_range[0]), math.log(aspect_range[1])
    out = torch.zeros(batch, rows, cols, dtype=torch.bool)
    if start is not None:
        out |= start.view(batch, rows, cols).cpu()
        if int(out.flatten(1).sum(1).max()) > n_mask:
            raise ValueError(f'the start mask already masks more than {n_mask} patches')

    def uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=generator))

    for mask in out:
        count = int(mask.sum())
        while n_mask - count >= min_block:
            added = 0
            for _ in range(10):  # a few tries at a block that fits the remaining count
                area = uniform(min_block, n_mask - count)
                aspect = math.exp(uniform(log_lo, log_hi))
                h = int(round(math.sqrt(area * aspect)))
                w = int(round(math.sqrt(area / aspect)))
                if not (0 < h <= rows and 0 < w <= cols):
                    continue
                top = int(torch.randint(rows - h + 1, (1, ), generator=generator))
                left = int(torch.randint(cols - w + 1, (1, ), generator=generator))
                block = mask[top:top + h, left:left + w]
                new = int((~block).sum())
                if 0 < new <= n_mask - count:
                    block[:] = True
                    added = new
                    break
            if not added:
                break
            count += added
        if count < n_mask:  # top up to the exact count with random unmasked patches
            free = (~mask).flatten().nonzero()[:, 0]
            pick = free[torch.randperm(len(free), generator=generator)[:n_mask - count]]
            mask.view(-1)[pick] = True
    return out.flatten(1).to(device)


MASK_TYPES = ('random', 'block')


def draw_patch_mask(mask_type: str, batch: int, grid: Sequence[int], ratio: float,
                    generator: Optional[torch.Generator] = None,
                    device: Optional[torch.device] = None) -> Tensor:
    """A ``(batch, rows * cols)`` mask of ``mask_type`` (``'random'``: MAE's uniform sampling;
    ``'block'``: block-wise), with exactly ``round(ratio * rows * cols)`` masked patches per row."""
    if mask_type == 'random':
        return random_patch_mask(batch, int(grid[0]) * int(grid[1]), ratio, generator, device)
    if mask_type == 'block':
        return block_patch_mask(batch, grid, ratio, generator, device)
    raise ValueError(f'mask_type must be one of {MASK_TYPES}, got {mask_type!r}')


def numpy_patch_mask(num_patches: int, ratio: float) -> np.ndarray:
    """One flat mask row drawn by ``random_patch_mask`` from numpy's global stream (data pipelines:
    mmengine seeds that stream per worker, so masks stay reproducible with a seed).

    Returns:
        np.ndarray: Bool ``(num_patches,)``.
    """
    gen = torch.Generator().manual_seed(int(np.random.randint(0, 2**31 - 1)))
    return random_patch_mask(1, num_patches, ratio, gen)[0].numpy()


def upsample_mask(mask: np.ndarray, src: Sequence[int], dst: Sequence[int]) -> np.ndarray:
    """Nearest-upsample a flat ``src`` (rows, cols) mask to a flat ``dst`` grid: cell ``(i, j)`` of
    ``dst`` takes cell ``(i * rows_src // rows_dst, j * cols_src // cols_dst)`` of ``src``."""
    rows = np.arange(dst[0]) * src[0] // dst[0]
    cols = np.arange(dst[1]) * src[1] // dst[1]
    return mask.reshape(src)[rows[:, None], cols[None, :]].reshape(-1)


def keep_indices(mask: Tensor, num_keep: Optional[int] = None) -> Tensor:
    """Indices ``(B, L_keep)`` of the unmasked patches of each row of a ``(B, L)`` mask, ascending.

    ``num_keep``: the count per row when the caller knows it (e.g. from a tensor's shape). Without it,
    the count is read from the mask and checked, which makes the host wait for the mask's device.

    Raises:
        ValueError: If the rows keep different numbers of patches (checked without ``num_keep``).
    """
    if num_keep is not None:
        return torch.argsort(mask.to(torch.uint8), dim=1, stable=True)[:, :num_keep]
    counts = (~mask).sum(1)
    if counts.numel() and not bool((counts == counts[0]).all()):
        raise ValueError(f'every sample must keep the same number of patches, got {counts.tolist()}')
    n_keep = int(counts[0]) if counts.numel() else 0
    # stable argsort of "is masked" puts kept patches first, in their original order
    order = torch.argsort(mask.to(torch.uint8), dim=1, stable=True)
    return order[:, :n_keep]


def masked_indices(mask: Tensor, num_masked: Optional[int] = None) -> Tensor:
    """Indices ``(B, L_masked)`` of the masked patches, ascending (equal counts per row; ``num_masked``
    as ``num_keep`` of :func:`keep_indices`)."""
    return keep_indices(~mask, num_masked)


def code_encoder_mask(mask: Tensor, mask_ratio: float) -> Tensor:
    """The patches the authors' code lets its encoder see for a mask up-sampled from another grid.

    The code draws the mask on the anchor's 16x8 grid, nearest-upsamples it to the view's grid (20x10
    for the x1.25 view: the kept count then varies, ~50 of 200), and gathers the first
    ``int(L * (1 - mask_ratio))`` patches of ``argsort(1 - keep)``: kept patches first, then masked ones
    (here in ascending index order; the code's unstable sort leaves the order of ties open). When the
    up-sampled mask keeps more than that, visible patches are dropped; when it keeps fewer, masked
    patches are encoded, and the loss (on the up-sampled mask) still counts them as masked.

    Args:
        mask (Tensor): Boolean ``(B, L)``, True = masked (the up-sampled mask the loss reads).
        mask_ratio (float): The code's ``mask_ratio`` (0.75).

    Returns:
        Tensor: Boolean ``(B, L)``, True = not encoded; exactly ``int(L * (1 - mask_ratio))`` False per row.
    """
    b, length = mask.shape
    keep = int(length * (1 - mask_ratio))
    order = torch.argsort(mask.to(torch.uint8), dim=1, stable=True)[:, :keep]
    out = torch.ones_like(mask)
    return out.scatter_(1, order, False)


def blank_patches(images: Tensor, mask: Tensor, grid: Sequence[int]) -> Tensor:
    """Images ``(B, 3, H, W)`` with the masked patches of a ``(B, rows*cols)`` mask set to 0."""
    b, _, h, w = images.shape
    keep = (~mask).view(b, 1, int(grid[0]), int(grid[1])).to(images.dtype)
    return images * keep.repeat_interleave(h // int(grid[0]), 2).repeat_interleave(w // int(grid[1]), 3)


__all__: List[str] = [
    'MASK_TYPES', 'blank_patches', 'block_patch_mask', 'code_encoder_mask', 'draw_patch_mask',
    'exact_mask_count', 'keep_indices', 'masked_indices', 'numpy_patch_mask', 'random_patch_mask',
    'upsample_mask'
]
