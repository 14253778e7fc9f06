from .personvit import PersonViT
from .saip import SAIP

__all__ = ['PersonViT', 'SAIP']
