from .base import PretrainAlgorithm
from .hap import HAP
from .personvit import PersonViT
from .saip import SAIP
from .solider import SOLIDER

__all__ = ['HAP', 'PersonViT', 'PretrainAlgorithm', 'SAIP', 'SOLIDER']
