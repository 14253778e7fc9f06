"""Non-square 2-D sin-cos position tables, token-grid inference and patchify/unpatchify (§III-A:
256×128 person crops give a 16×8 grid of 16-pixel patches)."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor


def sincos_2d(grid: Sequence[int], dim: int, temperature: float = 10000.) -> Tensor:
    """A fixed 2-D sin-cos table ``(rows*cols, dim)`` in row-major token order.

    The first half of the channels encodes the column (x), the second half the row (y), so all tokens
    of one row share the second half and all tokens of one column share the first half.

    Args:
        grid (tuple): (rows, cols).
        dim (int): Channels, a multiple of 4.
        temperature (float): Frequency base.
    """
    rows, cols = int(grid[0]), int(grid[1])
    if dim % 4:
        raise ValueError(f'sin-cos position dim must be a multiple of 4, got {dim}')
    y, x = torch.meshgrid(torch.arange(rows, dtype=torch.float32),
                          torch.arange(cols, dtype=torch.float32), indexing='ij')
    quarter = dim // 4
    omega = 1.0 / temperature**(torch.arange(quarter, dtype=torch.float32) / quarter)
    ox = x.reshape(-1, 1) * omega[None]
    oy = y.reshape(-1, 1) * omega[None]
    return torch.cat([ox.sin(), ox.cos(), oy.sin(), oy.cos()], dim=1)


def infer_grid(num_tokens: int, grid: Optional[Sequence[int]] = None,
               own: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """The (rows, cols) grid of a position table with ``num_tokens`` patch tokens.

    The one rule used by the backbone (loading a checkpoint) and the exporter: ``grid`` if given;
    else ``own`` (the model's grid) if it holds ``num_tokens``; else a 2:1 grid (person crops:
    16×8 at 256×128, 24×12 at 384×192); else a square one (ImageNet checkpoints).

    Args:
        num_tokens (int): Patch tokens in the table (without class / register tokens).
        grid (Sequence[int], optional): An explicit (rows, cols), checked against ``num_tokens``.
        own (Sequence[int], optional): The grid of the model that loads the table.

    Returns:
        tuple: (rows, cols).

    Raises:
        ValueError: If ``grid`` does not hold ``num_tokens``, or no rule fits.
    """
    if grid is not None:
        rows, cols = int(grid[0]), int(grid[1])
        if rows * cols != num_tokens:
            raise ValueError(f'the grid {rows}x{cols} does not hold {num_tokens} patch tokens')
        return rows, cols
    if own is not None and int(own[0]) * int(own[1]) == num_tokens:
        return int(own[0]), int(own[1])
    half = int(round((num_tokens / 2)**0.5))
    if 2 * half * half == num_tokens:
        return 2 * half, half
    side = int(round(num_tokens**0.5))
    if side * side == num_tokens:
        return side, side
    raise ValueError(f'cannot infer the grid of {num_tokens} patch tokens (neither 2:1 nor square); '
                     'give it explicitly')


def patchify(imgs: Tensor, patch_size: int) -> Tensor:
    """``(B, C, H, W)`` → ``(B, rows*cols, p*p*C)`` in row-major token order; H, W multiples of p."""
    b, c, h, w = imgs.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError(f'image size {h}x{w} is not a multiple of the patch size {p}')
    x = imgs.reshape(b, c, h // p, p, w // p, p)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // p) * (w // p), p * p * c)


def unpatchify(tokens: Tensor, grid: Sequence[int], patch_size: int, channels: int = 3) -> Tensor:
    """Inverse of :func:`patchify` for a (rows, cols) grid."""
    rows, cols = int(grid[0]), int(grid[1])
    b = tokens.shape[0]
    p = patch_size
    x = tokens.reshape(b, rows, cols, p, p, channels).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(b, channels, rows * p, cols * p)
