from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .batch_augment import BatchPhotometricAugment
from .data_preprocessor import SAIPDataPreprocessor
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .objectives import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403

__all__ = ['BatchPhotometricAugment', 'SAIPDataPreprocessor']
