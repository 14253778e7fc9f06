from .expert_ema import CosineEMAExpert
from .pos_embed import patchify, sincos_2d, unpatchify

__all__ = ['CosineEMAExpert', 'patchify', 'sincos_2d', 'unpatchify']
