from .csm_projector import CSMProjector
from .csr_decoder import CSRDecoder
from .css_decoder import CSSDecoder
from .simple_fpn import SimpleFeaturePyramid

__all__ = ['CSMProjector', 'CSRDecoder', 'CSSDecoder', 'SimpleFeaturePyramid']
