"""saip_mm: Scale-Aware Image Pretraining (SAIP) for lightweight human-centric models on OpenMMLab 2.x."""
# The compatibility shims (runner checkpoints under torch's weights_only default, the mmcv version
# check) apply on any import of the package, so that `custom_imports=['saip_mm.models']` under another
# package's train tool (mmpose's, mim's) resumes as well as our own tools do.
from . import compat  # noqa: F401,E402  (applies the shims on import)
from .version import __version__

__all__ = ['__version__']
