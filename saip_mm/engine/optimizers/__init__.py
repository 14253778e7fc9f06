from .per_tensor_clip import (
    PerTensorClipAmpOptimWrapper,
    PerTensorClipOptimWrapper,
    clip_grad_norm_per_tensor_,
)
from .trainable_constructor import TrainableOptimWrapperConstructor

__all__ = ['PerTensorClipAmpOptimWrapper', 'PerTensorClipOptimWrapper', 'TrainableOptimWrapperConstructor',
           'clip_grad_norm_per_tensor_']
