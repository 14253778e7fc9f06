"""Masked reconstruction, the step that CSR, MAE and HAP share: encode the visible patches of a view,
decode the masked ones."""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from ..utils.masking import blank_patches, code_encoder_mask, masked_indices
from .base import Step

# ``query_encoder``: which encoder reads the visible patches (``'expert'``: SAIP eq. 2; ``'student'``:
# the authors' code, MAE, HAP). ``encode_masked``: ``'drop'`` encodes the visible patches only (MAE);
# ``'all'`` the whole view with the masked patches blanked (0, the mean colour after normalisation), as
# masks up-sampled from another grid need (their count varies); ``'code'`` the patches the authors' code
# gathers for such a mask (a fixed count, kept ones first). ``query_global``: the view's own global token
# goes into a ``'self'`` decoder before the anchor's (the code).
RECONSTRUCTION_OPTIONS = dict(query_encoder='expert', encode_masked='drop', query_global=False)


def reconstruct(neck: nn.Module, patch_size: int, cfg: dict, step: Step, target: Tensor, mask: Tensor,
                kv: Optional[Tensor] = None, num_masked: Optional[int] = None) -> tuple:
    """Encode the visible patches of ``target`` ``(B, 3, H, W)`` under ``mask`` ``(B, L)`` and decode the
    masked ones with ``neck`` (keys/values ``kv`` ``(B, L0, C)``, or none for MAE).

    Args:
        neck (nn.Module): The decoder (``CSRDecoder``).
        patch_size (int): The head's patch size (the mask's grid).
        cfg (dict): ``level``, ``mask_ratio`` and ``RECONSTRUCTION_OPTIONS``.
        step (Step): The encoders of this step.
        num_masked (int, optional): The mask's count per row when known (the encoder then gathers
            without a host read of the mask).

    Returns:
        tuple: ``pred`` ``(B, L_masked or L, p*p*3)`` and the query encoder's tokens.
    """
    level, mode = cfg['level'], cfg['encode_masked']
    grid = (target.shape[-2] // patch_size, target.shape[-1] // patch_size)
    if mode == 'all':
        image, enc_mask, enc_masked = blank_patches(target, mask, grid), None, None
    elif mode == 'code':  # a fixed kept count: int(L * (1 - mask_ratio))
        image, enc_mask = target, code_encoder_mask(mask, cfg['mask_ratio'])
        enc_masked = mask.shape[1] - int(mask.shape[1] * (1 - cfg['mask_ratio']))
    else:
        image, enc_mask, enc_masked = target, mask, num_masked
    if cfg['query_encoder'] == 'expert':
        with torch.no_grad():
            q = step.expert.backbone.forward_tokens(image, mask=enc_mask, num_masked=enc_masked)
        proj = step.expert_proj[level]
        queries, own = proj(q[level][1]), proj(q[level][0])
    else:
        q = step.backbone.forward_tokens(image, mask=enc_mask, num_masked=enc_masked)
        queries, own = q[level][1], q[level][0]
    own = own if cfg['query_global'] else None
    if mode == 'all':  # every patch is a query; all are predicted (the loss weighs the masked ones)
        keep = torch.arange(queries.shape[1], device=queries.device).expand(queries.shape[0], -1)
        pred = neck(queries, keep, q['grid'], kv, query_global=own)
    elif mode == 'code':  # all predicted: the loss's mask and the encoder's differ
        pred = neck(queries, q['keep'], q['grid'], kv, query_global=own)
    else:
        masked = masked_indices(mask, mask.shape[1] - q['keep'].shape[1])  # the count from the shape
        pred = neck(queries, q['keep'], q['grid'], kv, predict=masked, query_global=own)
    return pred, q


__all__ = ['RECONSTRUCTION_OPTIONS', 'reconstruct']
