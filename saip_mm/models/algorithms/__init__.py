from .hap import HAP
from .personvit import PersonViT
from .saip import SAIP

__all__ = ['HAP', 'PersonViT', 'SAIP']
