"""The one token contract between a student (or an expert encoder) and every objective and algorithm.

``forward_tokens(x, mask=None)`` of every student returns a :class:`StudentTokens`: a typed dict, so
objectives keep reading ``out['final']`` while the keys and their types are written down once, and
:func:`check_tokens` says, for a new student, which key breaks the contract and how.
"""
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypedDict

import torch
import torch.nn as nn
from torch import Tensor

# what a feature-map encoder behind ``TokenAdapter`` applies to each stage's output when the adapter asks
# (``forward(x, after_stage=...)``): ``after_stage(stage index from 0, stage module, output) -> output``
AfterStage = Callable[[int, nn.Module, Tensor], Tensor]


class StudentTokens(TypedDict):
    """What ``forward_tokens`` returns.

    Attributes:
        final (tuple): ``(global token (B, C), patch tokens (B, L_vis, C))`` after the last block /
            stage (CSM, DINO-style heads, retrieval).
        mid (tuple): The same pair at the level that dense objectives read (ViT: block 7, paper §III-B;
            a ConvNet behind ``TokenAdapter``: the same as ``final``).
        grid (tuple): ``(rows, cols)`` of the stride-16 token grid of the input.
        keep (Tensor, optional): ``(B, L_vis)`` ascending indices of the visible patches when a mask
            was given, else None (then ``L_vis = rows * cols``).
    """
    final: Tuple[Tensor, Tensor]
    mid: Tuple[Tensor, Tensor]
    grid: Tuple[int, int]
    keep: Optional[Tensor]


def student_tokens(final: Tuple[Tensor, Tensor], mid: Tuple[Tensor, Tensor], grid: Sequence[int],
                   keep: Optional[Tensor] = None) -> StudentTokens:
    """Build a :class:`StudentTokens` (``grid`` as a tuple of ints)."""
    return StudentTokens(final=tuple(final), mid=tuple(mid), grid=(int(grid[0]), int(grid[1])), keep=keep)


def check_tokens(out: dict, batch: int, mask: Optional[Tensor] = None) -> None:
    """Check ``out`` against the contract for an input of ``batch`` images and the given ``mask``.

    Raises:
        ValueError: Naming the first key whose value breaks the contract, with the shapes found.
    """
    missing = [k for k in StudentTokens.__annotations__ if k not in out]
    if missing:
        raise ValueError(f'forward_tokens output lacks {missing} (has {sorted(out)})')
    grid = out['grid']
    if len(grid) != 2 or not all(isinstance(v, int) and v > 0 for v in grid):
        raise ValueError(f"'grid' must be (rows, cols) of positive ints, got {grid!r}")
    total = grid[0] * grid[1]
    visible = total if mask is None else total - int(mask[0].sum())
    for level in ('final', 'mid'):
        pair = out[level]
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ValueError(f"'{level}' must be (global token, patch tokens), got {type(pair).__name__}")
        glob, patches = pair
        if glob.dim() != 2 or glob.shape[0] != batch:
            raise ValueError(f"'{level}' global token must be ({batch}, C), got {tuple(glob.shape)}")
        if tuple(patches.shape[:2]) != (batch, visible) or patches.dim() != 3:
            raise ValueError(f"'{level}' patch tokens must be ({batch}, {visible}, C) for grid {grid}"
                             f"{'' if mask is None else ' with the mask'}, got {tuple(patches.shape)}")
    keep = out['keep']
    if mask is None and keep is not None:
        raise ValueError("'keep' must be None without a mask")
    if mask is not None and (keep is None or tuple(keep.shape) != (batch, visible)):
        raise ValueError(f"'keep' must be ({batch}, {visible}) indices of the visible patches, got "
                         f'{None if keep is None else tuple(keep.shape)}')


def split_tokens(out: StudentTokens, sizes: Sequence[int]) -> List[StudentTokens]:
    """Split the tokens of a batch that concatenated several views (one encoder call) back into one
    :class:`StudentTokens` per view of ``sizes`` images (``keep`` is not split: None)."""
    split = {lvl: [t.split(list(sizes)) for t in out[lvl]] for lvl in ('final', 'mid')}
    return [student_tokens((split['final'][0][j], split['final'][1][j]),
                           (split['mid'][0][j], split['mid'][1][j]), out['grid'])
            for j in range(len(sizes))]


def encode_views(encoder, images: Sequence[Tensor],
                 semantic_weights: Optional[Sequence[Tensor]] = None) -> List[StudentTokens]:
    """Encode several views with ``encoder.forward_tokens``, one call per distinct image size.

    Views of one size are concatenated along the batch, so that e.g. 8 local crops cost one forward
    of 8·B images instead of 8 forwards of B (token-wise identical: ViT has no batch statistics).

    Args:
        encoder (nn.Module): A student or expert encoder with ``forward_tokens``.
        images (list[Tensor]): Views ``(B_i, 3, H_i, W_i)``.
        semantic_weights (list[Tensor], optional): Per view, SOLIDER's λ of each image ``(B_i,)``
            (passed to ``forward_tokens`` as ``semantic_weight``).

    Returns:
        list[StudentTokens]: Per view, in order, its tokens.
    """
    groups: Dict[tuple, List[int]] = defaultdict(list)
    for i, img in enumerate(images):
        groups[tuple(img.shape[-2:])].append(i)
    outs: List[Optional[StudentTokens]] = [None] * len(images)
    for idx in groups.values():
        batch = torch.cat([images[i] for i in idx]) if len(idx) > 1 else images[idx[0]]
        kwargs = {} if semantic_weights is None else dict(
            semantic_weight=torch.cat([semantic_weights[i] for i in idx]))
        parts = split_tokens(encoder.forward_tokens(batch, **kwargs), [images[i].shape[0] for i in idx])
        for i, part in zip(idx, parts):
            outs[i] = part
    return outs


__all__ = ['AfterStage', 'StudentTokens', 'check_tokens', 'encode_views', 'split_tokens', 'student_tokens']
