"""Pixel-level decoder of CSS (paper §III-B eq. 3, appendix A)."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.attention_blocks import FFN, CrossAttention, DecoderBlock
from ..utils.pos_embed import sincos_2d


@MODELS.register_module()
class CSSDecoder(BaseModule):
    """Search a person (query view) in a multi-person canvas: a dynamic kernel · canvas features.

    Query tokens ``[global, patches]`` of a view go through ``depth`` self-attention blocks; the global
    token then cross-attends to the canvas tokens and a Linear turns it into a kernel. Canvas tokens
    become a feature map through Conv1×1+GELU and ``num_convs - 1`` × (Conv3×3+GELU) (the paper's four
    convolution layers). Logits = kernel · features / sqrt(C) + bias on the canvas grid.

    Args:
        in_channels (int): Width of the query tokens. Defaults to 192.
        canvas_channels (int, optional): Width of the canvas tokens (an external expert may be wider).
            Defaults to ``in_channels``.
        embed_dims (int): Decoder and kernel width. Defaults to 512.
        depth (int): Self-attention blocks on the query. Defaults to 2.
        num_heads (int): Attention heads. Defaults to 16.
        num_convs (int): Convolution layers of the mask branch. Defaults to 4.
        share_canvas_features (bool): Compute the canvas features once for all queries (default).
            ``False`` recomputes them per query (identical outputs, N times the mask-branch work), as
            a decoder called once per query does: the code-faithful preset uses it so that the
            benchmark compares equal work.
        cross_ffn (bool): After the cross-attention, a pre-norm FFN with a residual and a LayerNorm
            before the kernel Linear, as the authors' code's cross-attention block and its
            ``q_decoder_norm``. Defaults to False.
        scaled_logits (bool): Divide kernel · features by sqrt(embed_dims). Defaults to True (the code
            does not).
        logit_bias (bool): A learned bias on the logits. Defaults to True (the code has none).
        canvas_positions (bool): 2-D sin-cos positions on the canvas memory. Defaults to True (the code
            adds none).
        all_query_rows (bool): The last query block computes every token, as the code's does, not the
            global token alone (the only row the kernel reads; identical outputs, more work): for the
            code-faithful preset's equal-work benchmark. Defaults to False.
    """

    def __init__(self,
                 in_channels: int = 192,
                 canvas_channels: int = None,
                 embed_dims: int = 512,
                 depth: int = 2,
                 num_heads: int = 16,
                 num_convs: int = 4,
                 share_canvas_features: bool = True,
                 cross_ffn: bool = False,
                 scaled_logits: bool = True,
                 logit_bias: bool = True,
                 canvas_positions: bool = True,
                 all_query_rows: bool = False,
                 init_cfg=dict(type='Xavier', layer='Linear', distribution='uniform')) -> None:
        super().__init__(init_cfg=init_cfg)
        canvas_channels = canvas_channels or in_channels
        self.embed_dims = embed_dims
        self.share_canvas_features = share_canvas_features
        self.in_norm_q = nn.LayerNorm(in_channels, eps=1e-6)
        self.in_norm_kv = nn.LayerNorm(canvas_channels, eps=1e-6)
        self.embed_q = nn.Linear(in_channels, embed_dims)
        self.embed_kv = nn.Linear(canvas_channels, embed_dims)
        self.blocks = nn.ModuleList(
            DecoderBlock(embed_dims, num_heads, cross=False) for _ in range(depth))
        self.cross = CrossAttention(embed_dims, num_heads)
        self.cross_ffn = None
        if cross_ffn:
            self.cross_ffn = nn.Sequential(nn.LayerNorm(embed_dims, eps=1e-6), FFN(embed_dims))
        self.kernel_norm = nn.LayerNorm(embed_dims, eps=1e-6) if cross_ffn else nn.Identity()
        self.kernel = nn.Linear(embed_dims, embed_dims)
        self.scaled_logits, self.canvas_positions = scaled_logits, canvas_positions
        self.all_query_rows = all_query_rows
        convs = [nn.Conv2d(canvas_channels, embed_dims, 1), nn.GELU()]
        for _ in range(num_convs - 1):
            convs += [nn.Conv2d(embed_dims, embed_dims, 3, padding=1), nn.GELU()]
        self.mask_branch = nn.Sequential(*convs)
        self.bias = nn.Parameter(torch.zeros(1)) if logit_bias else None

    def canvas_features(self, canvas: Tensor, grid: Sequence[int]) -> Tensor:
        """Canvas tokens ``(B, L, C)`` → mask features ``(B, E, rows, cols)``."""
        b, _, c = canvas.shape
        x = self.in_norm_kv(canvas).transpose(1, 2).reshape(b, c, int(grid[0]), int(grid[1]))
        return self.mask_branch(x)

    def memory(self, canvas: Tensor, grid: Sequence[int]) -> Tensor:
        """Canvas tokens ``(B, L, C)`` → cross-attention memory ``(B, L, E)`` with 2-D positions."""
        memory = self.embed_kv(self.in_norm_kv(canvas))
        if not self.canvas_positions:
            return memory
        return memory + sincos_2d(grid, self.embed_dims).to(memory)[None]

    def kernels(self, query: Tensor, memory: Tensor) -> Tensor:
        """Query tokens ``(B, 1+L, C)`` (global first) and canvas memory → kernels ``(B, E)``."""
        x = self.embed_q(self.in_norm_q(query))
        for block in self.blocks[:-1]:
            x = block(x)
        if len(self.blocks):
            # only the global token is used: the last block computes that row alone
            first = torch.zeros(x.shape[0], 1, dtype=torch.long, device=x.device)
            x = self.blocks[-1](x, rows=None if self.all_query_rows else first)
        y = self.cross(x[:, :1], memory)
        if self.cross_ffn is not None:
            y = y + self.cross_ffn(y)
        return self.kernel(self.kernel_norm(y)[:, 0])

    def forward(self, queries: Sequence[Tensor], canvas: Tensor, grid: Sequence[int]) -> Tensor:
        """Mask logits of every query view on the canvas.

        Args:
            queries (list[Tensor]): Per view, tokens ``(B, 1+L_t, C)`` with the global token first.
            canvas (Tensor): Canvas patch tokens ``(B, rows*cols, C_canvas)``.
            grid (tuple): Canvas grid (rows, cols).

        Returns:
            Tensor: Logits ``(N_views, B, rows, cols)``.
        """
        feats = self.canvas_features(canvas, grid)
        memory = self.memory(canvas, grid)
        b = canvas.shape[0]
        # queries with the same token count go through the blocks together (one call per length)
        by_len: Dict[int, List[int]] = defaultdict(list)
        for i, q in enumerate(queries):
            by_len[q.shape[1]].append(i)
        kernels: List[Optional[Tensor]] = [None] * len(queries)
        for idx in by_len.values():
            k = self.kernels(torch.cat([queries[i] for i in idx]), memory.repeat(len(idx), 1, 1))
            for j, i in enumerate(idx):
                kernels[i] = k[j * b:(j + 1) * b]
        kernels = torch.stack(kernels)
        if self.share_canvas_features:
            logits = torch.einsum('nbe,behw->nbhw', kernels, feats)
        else:
            logits = torch.stack([
                torch.einsum('be,behw->bhw', k, self.canvas_features(canvas, grid) if n else feats)
                for n, k in enumerate(kernels)])
        if self.scaled_logits:
            logits = logits / self.embed_dims**0.5
        return logits if self.bias is None else logits + self.bias
