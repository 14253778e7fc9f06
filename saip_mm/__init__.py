"""saip_mm: Scale-Aware Image Pretraining (SAIP) for lightweight human-centric models on OpenMMLab 2.x."""
from .version import __version__

__all__ = ['__version__']
