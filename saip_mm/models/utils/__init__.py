from .expert_ema import CosineEMAExpert
from .external_expert import ExternalExpert
from .pos_embed import patchify, sincos_2d, unpatchify
from .randomness import step_generator

__all__ = ['CosineEMAExpert', 'ExternalExpert', 'patchify', 'sincos_2d', 'step_generator', 'unpatchify']
