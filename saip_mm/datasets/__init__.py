from .cihp import CIHPDataset
from .collate import stack_collate
from .mixed import MixedPersonDataset
from .pa100k import PA100KDataset
from .person_crops import PersonCropDataset
from .peta import PETADataset
from .reid import Market1501Dataset, MSMT17Dataset
from .samplers import WeightedPersonSampler
from .transforms import *  # noqa: F401,F403
from .xscale_persons import CrossScalePersonDataset

__all__ = [
    'CIHPDataset', 'CrossScalePersonDataset', 'Market1501Dataset', 'MixedPersonDataset', 'MSMT17Dataset',
    'PA100KDataset',
    'PersonCropDataset', 'PETADataset', 'WeightedPersonSampler', 'stack_collate'
]
