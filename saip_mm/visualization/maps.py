"""Token maps of a student encoder on its (rows × cols) grid, e.g. 16×8 for a 256×128 crop: the global
token's attention, a feature-norm map (encoders without a global attention), and a PCA of the patch
tokens (the paper's Fig. 5 style)."""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor


@torch.no_grad()
def global_attention(encoder: nn.Module, images: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
    """Attention of the global (class) token over the patch tokens in the last block.

    Works for ``SAIPViT`` (mmpretrain transformer layers with ``attn.qkv``). The class token's
    attention row is taken over the patch tokens only and renormalised, so that every map sums to 1.

    Args:
        encoder (nn.Module): The ViT student.
        images (Tensor): Normalised ``(B, 3, H, W)``.

    Returns:
        tuple: Maps ``(B, heads, rows, cols)`` and the grid ``(rows, cols)``.
    """
    attn = encoder.layers[-1].attn
    captured = {}
    handle = attn.register_forward_pre_hook(lambda m, args: captured.__setitem__('x', args[0]))
    try:
        out = encoder.forward_tokens(images)
    finally:
        handle.remove()
    x = captured['x']
    b, n, _ = x.shape
    qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dims).permute(2, 0, 3, 1, 4)
    q, k = qkv[0], qkv[1]  # (B, heads, N, d)
    logits = (q[:, :, :1] @ k.transpose(-2, -1)).squeeze(2) * attn.head_dims**-0.5  # (B, heads, N)
    weights = logits.softmax(dim=-1)
    extra = n - out['grid'][0] * out['grid'][1]
    patches = weights[..., extra:]
    patches = patches / patches.sum(dim=-1, keepdim=True)
    rows, cols = out['grid']
    return patches.reshape(b, attn.num_heads, rows, cols), (rows, cols)


@torch.no_grad()
def feature_norm_map(encoder: nn.Module, images: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
    """L2 norm of each final patch token, normalised to sum 1 (for StarNet / TinyViT, which have no
    global-token attention). Returns ``(B, 1, rows, cols)`` and the grid."""
    out = encoder.forward_tokens(images)
    rows, cols = out['grid']
    norms = out['final'][1].norm(dim=-1)
    norms = norms / norms.sum(dim=-1, keepdim=True)
    return norms.reshape(-1, 1, rows, cols), (rows, cols)


def token_maps(encoder: nn.Module, images: Tensor) -> Tuple[Tensor, str]:
    """Global-token attention where the encoder has it, else the feature-norm map; with its name."""
    if hasattr(encoder, 'layers') and hasattr(encoder.layers[-1], 'attn'):
        return global_attention(encoder, images)[0], 'attention'
    return feature_norm_map(encoder, images)[0], 'feature-norm'


def pca_rgb(token_grids: Sequence[np.ndarray]) -> List[np.ndarray]:
    """One PCA over the patch tokens of several grids, shown as colours (paper Fig. 5 style).

    The first component separates foreground from background (its sign is chosen so that the grid
    centres, where the person is, are positive); components 2–4 of the foreground tokens become RGB;
    background cells are black.

    Args:
        token_grids: Arrays ``(rows_i, cols_i, C)``.

    Returns:
        list: ``(rows_i, cols_i, 3)`` float images in [0, 1].
    """
    flat = np.concatenate([g.reshape(-1, g.shape[-1]) for g in token_grids]).astype(np.float64)
    flat = flat - flat.mean(0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    first = flat @ vt[0]
    centre = np.concatenate([_centre_mask(g.shape[:2]).reshape(-1) for g in token_grids])
    if first[centre].mean() < first[~centre].mean():
        first = -first
    fg = first > np.median(first) if (first > 0).all() or (first <= 0).all() else first > 0
    colours = np.zeros((len(flat), 3))
    if fg.sum() >= 4:
        sub = flat[fg] - flat[fg].mean(0)
        _, _, vt2 = np.linalg.svd(sub, full_matrices=False)
        comp = sub @ vt2[:3].T
        lo, hi = comp.min(0), comp.max(0)
        colours[fg] = (comp - lo) / np.maximum(hi - lo, 1e-9)
    out, start = [], 0
    for g in token_grids:
        n = g.shape[0] * g.shape[1]
        out.append(colours[start:start + n].reshape(g.shape[0], g.shape[1], 3))
        start += n
    return out


def _centre_mask(grid: Tuple[int, int]) -> np.ndarray:
    rows, cols = grid
    m = np.zeros(grid, bool)
    m[rows // 4:rows - rows // 4, cols // 4:cols - cols // 4] = True
    return m
