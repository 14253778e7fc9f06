from .expert_ema import CosineEMAExpert
from .external_expert import ExternalExpert
from .pos_embed import infer_grid, patchify, sincos_2d, unpatchify
from .randomness import step_generator
from .rescale import rescale, scaled_size
from .retrieval import mean_pairwise_cosine, retrieval_features
from .schedules import ConstantValue, CosineRamp, LinearWarmup, ValueSchedule, build_schedule
from .sinkhorn import SinkhornKnoppCentering, sinkhorn_knopp
from .tokens import StudentTokens, check_tokens, student_tokens

__all__ = ['ConstantValue', 'CosineEMAExpert', 'CosineRamp', 'ExternalExpert', 'LinearWarmup',
           'SinkhornKnoppCentering', 'StudentTokens', 'ValueSchedule', 'build_schedule', 'check_tokens',
           'infer_grid', 'mean_pairwise_cosine', 'patchify', 'rescale', 'retrieval_features', 'scaled_size',
           'sincos_2d', 'sinkhorn_knopp', 'step_generator', 'student_tokens', 'unpatchify']
