from .expert_ema import CosineEMAExpert
from .external_expert import ExternalExpert
from .pos_embed import patchify, sincos_2d, unpatchify

__all__ = ['CosineEMAExpert', 'ExternalExpert', 'patchify', 'sincos_2d', 'unpatchify']
