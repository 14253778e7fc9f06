from .mixed import MixedPersonDataset
from .person_crops import PersonCropDataset
from .samplers import WeightedPersonSampler
from .transforms import *  # noqa: F401,F403

__all__ = ['MixedPersonDataset', 'PersonCropDataset', 'WeightedPersonSampler']
