"""Pixel-level decoder of CSR (paper §III-B eq. 2, appendix A)."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.attention_blocks import DecoderBlock
from ..utils.pos_embed import sincos_2d


@MODELS.register_module()
class CSRDecoder(BaseModule):
    """Reconstruct the pixels of a masked view from the anchor's tokens.

    Queries are the masked view's tokens (visible tokens from an encoder, mask tokens elsewhere) with
    a fixed 2-D sin-cos position for the view's own grid. Two layouts:

    * ``'cross'`` (paper): ``depth`` blocks of self-attention → cross-attention to the anchor tokens →
      FFN;
    * ``'self'`` (authors' code): ``depth`` self-attention blocks over ``[anchor tokens, queries]``
      (the code feeds the anchor's global token only).

    With ``memory=False`` there are no anchor tokens: ``'self'`` blocks over the queries alone are
    MAE's pixel decoder (He et al. 2022), the MAE baseline's (SAIP Tables I–IV).

    Args:
        in_channels (int): Encoder width. Defaults to 192.
        embed_dims (int): Decoder width. Defaults to 512.
        depth (int): Number of blocks. Defaults to 6.
        num_heads (int): Attention heads. Defaults to 16.
        patch_size (int): Patch size of the reconstruction. Defaults to 16.
        layout (str): ``'cross'`` or ``'self'``. Defaults to ``'cross'``.
        memory (bool): Whether the decoder reads anchor tokens (keys/values). ``False`` needs
            ``layout='self'`` and builds no key/value input layers. Defaults to True.
    """

    def __init__(self,
                 in_channels: int = 192,
                 embed_dims: int = 512,
                 depth: int = 6,
                 num_heads: int = 16,
                 patch_size: int = 16,
                 layout: str = 'cross',
                 memory: bool = True,
                 mlp_ratio: float = 4.,
                 init_cfg=dict(type='Xavier', layer='Linear', distribution='uniform')) -> None:
        super().__init__(init_cfg=init_cfg)
        if layout not in ('cross', 'self'):
            raise ValueError(f"layout must be 'cross' or 'self', got {layout!r}")
        if not memory and layout != 'self':
            raise ValueError("a decoder without memory (MAE) needs layout='self'")
        self.layout = layout
        self.memory = memory
        self.embed_dims = embed_dims
        self.in_norm_q = nn.LayerNorm(in_channels, eps=1e-6)
        self.embed_q = nn.Linear(in_channels, embed_dims)
        if memory:
            self.in_norm_kv = nn.LayerNorm(in_channels, eps=1e-6)
            self.embed_kv = nn.Linear(in_channels, embed_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.blocks = nn.ModuleList(
            DecoderBlock(embed_dims, num_heads, cross=layout == 'cross', mlp_ratio=mlp_ratio)
            for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.pred = nn.Linear(embed_dims, patch_size * patch_size * 3)

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, visible: Tensor, keep: Tensor, grid: Sequence[int], anchor: Optional[Tensor],
                predict: Optional[Tensor] = None, query_global: Optional[Tensor] = None) -> Tensor:
        """Predict the patches of the masked view.

        Args:
            visible (Tensor): Encoder tokens of the visible patches ``(B, L_vis, C)``.
            keep (Tensor): Their indices in the full grid ``(B, L_vis)``.
            grid (tuple): (rows, cols) of the masked view.
            anchor (Tensor, optional): Anchor tokens ``(B, L0, C)`` (keys/values); ``None`` without
                memory.
            predict (Tensor, optional): Indices ``(B, R)`` of the patches to predict (the masked
                ones: the loss needs no others). The last block and the prediction layer then run
                for those rows only. Default: all patches.
            query_global (Tensor, optional): The masked view's own global token ``(B, C)`` from the
                encoder; ``'self'`` layout only, where the sequence is then ``[it, anchor tokens,
                queries]`` (the authors' code's decoder input).

        Returns:
            Tensor: Pixel predictions ``(B, R or rows*cols, p*p*3)``.
        """
        b = visible.shape[0]
        num = int(grid[0]) * int(grid[1])
        vis = self.embed_q(self.in_norm_q(visible))
        x = self.mask_token.to(vis.dtype).expand(b, num, -1).clone()
        x.scatter_(1, keep[..., None].expand(-1, -1, self.embed_dims), vis)
        x = x + sincos_2d(grid, self.embed_dims).to(x)[None]
        if (anchor is None) == self.memory:
            raise ValueError(f'anchor tokens must be {"given" if self.memory else "None"} for a '
                             f'decoder with memory={self.memory}')
        memory = self.embed_kv(self.in_norm_kv(anchor)) if self.memory else x[:, :0]
        if query_global is not None:
            if self.layout != 'self':
                raise ValueError("the masked view's own global token goes into a layout='self' decoder")
            memory = torch.cat([self.embed_q(self.in_norm_q(query_global))[:, None], memory], dim=1)
        if self.layout == 'cross':
            for block in self.blocks[:-1]:
                x = block(x, memory)
            last = self.blocks[-1]
            return self.pred(self.norm(last(x, memory, rows=predict)))
        n_mem = memory.shape[1]
        x = torch.cat([memory, x], dim=1)
        for block in self.blocks[:-1]:
            x = block(x)
        if predict is None:
            predict = torch.arange(num, device=x.device).expand(b, -1)
        return self.pred(self.norm(self.blocks[-1](x, rows=predict + n_mem)))
