"""ViT-Tiny image encoder for SAIP (paper §III-A).

``SAIPViT`` is a thin subclass of ``mmpretrain.VisionTransformer``: parameter names are identical, so a
SAIP backbone loads into ``mmpretrain.VisionTransformer`` (arch ``deit-tiny``) through an identity key
map. It adds what pretraining needs and mmpretrain lacks:

* token outputs as ``(global token, patch tokens)`` pairs from the final norm and from an intermediate
  block (the authors' code reads the output of the 7th block for CSR/CSS; ``mid_index`` counts from 1);
* MAE-style patch dropping from a boolean mask with exact keep counts;
* loading of a checkpoint whose position embedding comes from a **non-square** grid (16×8 at 256×128):
  mmpretrain assumes a square source grid and fails on it;
* optionally, SOLIDER's semantic controller λ (``semantic_weight``), an input of every forward path, at
  pretraining (per image) and at fine-tuning (the config's value).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.masking import keep_indices
from ..utils.pos_embed import infer_grid
from ..utils.pretrained import StrictPretrainedInit, is_pretrained
from ..utils.semantic_controller import SemanticControlled
from ..utils.tokens import StudentTokens, student_tokens

TokenPair = Tuple[Tensor, Tensor]


def patch_grid(img_hw: Sequence[int], patch_size: int) -> Tuple[int, int]:
    """Token grid (rows, cols) of an image size; both sides must be multiples of ``patch_size``."""
    h, w = int(img_hw[0]), int(img_hw[1])
    if h % patch_size or w % patch_size:
        raise ValueError(f'image size {h}x{w} is not a multiple of the patch size {patch_size}')
    return h // patch_size, w // patch_size


@MODELS.register_module()
class SAIPViT(SemanticControlled, StrictPretrainedInit, VisionTransformer):
    """ViT image encoder with SAIP token outputs and masking.

    With ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)`` the checkpoint is loaded
    strictly: every backbone tensor must be in it (a class token this model does not use may be), else
    a ``KeyError`` lists the missing keys. The position embedding is resized in 2-D from the
    checkpoint's grid.

    Args:
        arch (str | dict): mmpretrain ViT arch. Defaults to ``'deit-tiny'`` (192-d, 12 blocks, 3 heads).
        img_size (int | tuple): Native input size (H, W). Defaults to ``(256, 128)``.
        patch_size (int): Patch size. Defaults to 16.
        mid_index (int): The intermediate output is taken after this many blocks, counted from 1:
            ``7`` is the output of the 7th block (``layers[6]``), the authors' "block 7" for CSR and
            CSS. Negative values count from the end (``-1`` = after the last block). Defaults to 7.
        pretrained_grid (tuple, optional): Grid (rows, cols) of the position embedding stored in the
            checkpoint that ``init_cfg`` loads. ``None`` infers it: the native grid of this model when the
            token count matches, else the 16×8 SAIP pretraining grid, else a square grid.
        semantic_weight (float, optional): SOLIDER's λ in [0, 1] (``utils/semantic_controller.py``):
            with a value, the backbone has a semantic controller and this is its λ whenever a call sets
            none (downstream: 0–0.2 for ReID, 0.8–1 for pose, parsing, detection, attributes;
            SOLIDER supplementary §4). ``None`` (default): no controller, a plain ViT.
        semantic_points (Sequence[int], optional): Blocks (from 1) after which λ acts; default the last
            block of each of four equal groups.
        cls_token_std (float): A new class token is drawn from N(0, std²); 0 keeps mmpretrain's zeros
            (default). The authors' code draws it with std 0.02.
        **kwargs: Passed to ``mmpretrain.VisionTransformer``.
    """

    def __init__(self,
                 arch: str = 'deit-tiny',
                 img_size=(256, 128),
                 patch_size: int = 16,
                 mid_index: int = 7,
                 pretrained_grid: Optional[Sequence[int]] = None,
                 semantic_weight: Optional[float] = None,
                 semantic_points: Optional[Sequence[int]] = None,
                 cls_token_std: float = 0.,
                 **kwargs) -> None:
        kwargs.setdefault('out_type', 'raw')
        self._cls_token_std = cls_token_std
        super().__init__(arch=arch, img_size=img_size, patch_size=patch_size, **kwargs)
        self.patch_size = patch_size
        self.mid_index = mid_index if mid_index > 0 else self.num_layers + 1 + mid_index
        if not 1 <= self.mid_index <= self.num_layers or mid_index == 0:
            raise ValueError(f'mid_index {mid_index} must count 1..{self.num_layers} blocks '
                             f'(or -1..-{self.num_layers} from the end)')
        self.pretrained_grid = tuple(pretrained_grid) if pretrained_grid is not None else None
        self.init_semantic_controller(semantic_weight, self.embed_dims, self.num_layers, semantic_points)

    def init_weights(self) -> None:
        """mmpretrain's initialisation (or the checkpoint); then a new class token from N(0, std²) when
        ``cls_token_std`` is set."""
        super().init_weights()
        if self._cls_token_std and self.cls_token is not None and not is_pretrained(self.init_cfg):
            torch.nn.init.normal_(self.cls_token, std=self._cls_token_std)

    def train(self, mode: bool = True) -> 'SAIPViT':
        """Set the training mode (mmpretrain's override returns None; this returns ``self``)."""
        super().train(mode)
        return self

    # ------------------------------------------------------------------ checkpoint loading
    def _source_grid(self, num_tokens: int) -> Tuple[int, int]:
        """The grid of a checkpoint's position table: ``pretrained_grid``, else ``infer_grid``'s rule
        (this model's grid, 2:1, square), the same rule as ``saip2backbone.py``."""
        try:
            return infer_grid(num_tokens, self.pretrained_grid, own=self.patch_resolution)
        except ValueError as err:
            raise ValueError(f'pos_embed in the checkpoint: {err}; set `pretrained_grid` of '
                             f'{type(self).__name__}') from None

    def _prepare_pos_embed(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Resize a checkpoint's position embedding in 2-D from its own grid to this model's grid."""
        name = prefix + 'pos_embed'
        if name not in state_dict:
            return
        ckpt = state_dict[name]
        ckpt_extra = self.num_extra_tokens
        if not self.with_cls_token and self._fits_grid(ckpt.shape[1] - 1):
            ckpt_extra = 1  # a SAIP checkpoint carries the class token; this model has none
        ckpt_cls, ckpt = ckpt[:, :ckpt_extra], ckpt[:, ckpt_extra:]
        if ckpt.shape[1] != self.pos_embed.shape[1] - self.num_extra_tokens:
            src = self._source_grid(ckpt.shape[1])
            ckpt = resize_pos_embed(ckpt, src, self.patch_resolution, self.interpolate_mode, 0)
        state_dict[name] = torch.cat([ckpt_cls[:, :self.num_extra_tokens], ckpt], dim=1)

    def _fits_grid(self, num_tokens: int) -> bool:
        try:
            self._source_grid(num_tokens)
        except ValueError:
            return False
        return True

    # ------------------------------------------------------------------ forward
    def grid_pos_embed(self, grid: Sequence[int]) -> Tensor:
        """Position embedding ``(1, extra + rows*cols, D)`` resized in 2-D to a token grid."""
        return resize_pos_embed(self.pos_embed, self.patch_resolution, tuple(grid),
                                mode=self.interpolate_mode, num_extra_tokens=self.num_extra_tokens)

    def forward_tokens(self, x: Tensor, mask: Optional[Tensor] = None, mask_token: Optional[Tensor] = None,
                       semantic_weight: Optional[Union[float, Tensor]] = None,
                       num_masked: Optional[int] = None) -> StudentTokens:
        """Encode an image batch into the student token contract (``models/utils/tokens.py``).

        Args:
            x (Tensor): Images ``(B, 3, H, W)``; H and W multiples of the patch size.
            mask (Tensor, optional): Boolean ``(B, L)``, True = masked patch. Without ``mask_token``
                masked patches are dropped (MAE), and every row must mask the same number.
            mask_token (Tensor, optional): ``(1, 1, D)``: the masked patches' embeddings are replaced
                by it before the position embedding (BEiT / iBOT / PersonViT eq. 5); every patch is
                kept (``keep`` is None) and rows may mask different numbers. The token belongs to
                the algorithm, so the backbone's parameters stay those of a plain ViT.
            semantic_weight (float | Tensor, optional): λ for this call, a scalar or one per image
                ``(B,)`` (SOLIDER); needs the controller. ``None``: the config's ``semantic_weight``.
            num_masked (int, optional): The masked count per row of ``mask``, when the caller knows it
                (a mask drawn with an exact count): the kept patches are then gathered without the host
                reading the mask (``keep_indices``). ``None``: counted from the mask (and checked).

        Returns:
            StudentTokens: ``final`` and ``mid``: ``(global token (B, D), patch tokens (B, L_vis, D))``;
            ``grid``: (rows, cols); ``keep``: indices ``(B, L_vis)`` of the kept patches or None.
        """
        weight = self.semantic_weight_batch(semantic_weight, x.shape[0], x.device)
        return self._encode(x, mask, mask_token, num_masked, weight)

    def forward(self, x: Tensor, semantic_weight: Optional[Union[float, Tensor]] = None) -> tuple:
        """mmpretrain's forward (downstream tasks, ``extract_feat``); with a semantic controller, the same
        loop with λ after the controlled blocks (``semantic_weight``: a scalar or ``(B,)``; None: the
        config's λ).

        Returns:
            tuple: mmpretrain's outputs, one per ``out_indices``, formatted by ``out_type``.
        """
        if self.semantic_controller is None and semantic_weight is None:
            return super().forward(x)
        weight = self.semantic_weight_batch(semantic_weight, x.shape[0], x.device)
        h, grid = self.patch_embed(x)
        if self.cls_token is not None:
            h = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), h), dim=1)
        h = self.pre_norm(self.drop_after_pos(h + self.grid_pos_embed(grid)))
        outs = []
        for i, layer in enumerate(self.layers):
            h = self.condition(layer(h), i + 1, weight)
            if i == len(self.layers) - 1 and self.final_norm:
                h = self.ln1(h)
            if i in self.out_indices:
                outs.append(self._format_output(h, grid))
        return tuple(outs)

    def _encode(self, x: Tensor, mask: Optional[Tensor], mask_token: Optional[Tensor],
                num_masked: Optional[int] = None, weight: Optional[Tensor] = None) -> StudentTokens:
        tokens, grid = self.patch_embed(x)
        grid = tuple(grid)
        pos = self.grid_pos_embed(grid)
        n = self.num_extra_tokens
        if mask is not None and mask_token is not None:
            tokens = torch.where(mask[..., None], mask_token.to(tokens.dtype), tokens)
            mask = None
        tokens = tokens + pos[:, n:]
        keep = None
        if mask is not None:
            keep = keep_indices(mask, None if num_masked is None else mask.shape[1] - num_masked)
            tokens = torch.gather(tokens, 1, keep[..., None].expand(-1, -1, tokens.shape[-1]))
        cls = (self.cls_token + pos[:, :n]).expand(tokens.shape[0], -1, -1)
        h = self.pre_norm(self.drop_after_pos(torch.cat([cls, tokens], dim=1)))
        mid = None
        for i, layer in enumerate(self.layers, 1):
            h = self.condition(layer(h), i, weight)  # SOLIDER's λ after the controlled blocks
            if i == self.mid_index:
                mid = h
        if self.final_norm:
            h = self.ln1(h)
        return student_tokens((h[:, 0], h[:, n:]), (mid[:, 0], mid[:, n:]), grid, keep)


__all__: List[str] = ['SAIPViT', 'patch_grid']
