from .expert_ema import CosineEMAExpert
from .external_expert import ExternalExpert
from .pos_embed import infer_grid, patchify, sincos_2d, unpatchify
from .randomness import step_generator
from .rescale import rescale, scaled_size
from .retrieval import retrieval_features

__all__ = ['CosineEMAExpert', 'ExternalExpert', 'infer_grid', 'patchify', 'rescale', 'retrieval_features',
           'scaled_size', 'sincos_2d', 'step_generator', 'unpatchify']
