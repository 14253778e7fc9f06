"""Pre-norm transformer blocks shared by the CSR and CSS decoders."""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor


class FFN(nn.Sequential):
    """Linear → GELU → Linear."""

    def __init__(self, dim: int, ratio: float = 4.) -> None:
        hidden = int(dim * ratio)
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class DecoderBlock(nn.Module):
    """Self-attention → (optional) cross-attention → FFN, each pre-normed with a residual.

    Args:
        dim (int): Token width.
        num_heads (int): Attention heads.
        cross (bool): Whether the block has a cross-attention layer.
        mlp_ratio (float): FFN expansion.
    """

    def __init__(self, dim: int, num_heads: int, cross: bool = True, mlp_ratio: float = 4.) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.cross = cross
        if cross:
            self.norm_q = nn.LayerNorm(dim, eps=1e-6)
            self.norm_kv = nn.LayerNorm(dim, eps=1e-6)
            self.cross_attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.ffn = FFN(dim, mlp_ratio)

    def forward(self, x: Tensor, memory: Optional[Tensor] = None,
                rows: Optional[Tensor] = None) -> Tensor:
        """Update query tokens ``x (B, Lq, D)``, attending to ``memory (B, Lk, D)`` when cross.

        Args:
            rows (Tensor, optional): Indices ``(B, R)`` of the only tokens whose output is needed
                (e.g. in a last block). They still attend to all tokens, but attention outputs,
                cross-attention and FFN are computed for them alone; the result is ``(B, R, D)``
                and equals those rows of the full output.
        """
        h = self.norm1(x)
        if rows is not None:
            x = torch.gather(x, 1, rows[..., None].expand(-1, -1, x.shape[-1]))
            q = torch.gather(h, 1, rows[..., None].expand(-1, -1, h.shape[-1]))
        else:
            q = h
        x = x + self.self_attn(q, h, h, need_weights=False)[0]
        if self.cross:
            if memory is None:
                raise ValueError('a cross-attention block needs memory tokens')
            kv = self.norm_kv(memory)
            x = x + self.cross_attn(self.norm_q(x), kv, kv, need_weights=False)[0]
        return x + self.ffn(self.norm2(x))


class CrossAttention(nn.Module):
    """A single pre-norm cross-attention layer with a residual."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(dim, eps=1e-6)
        self.norm_kv = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        kv = self.norm_kv(memory)
        return x + self.attn(self.norm_q(x), kv, kv, need_weights=False)[0]
