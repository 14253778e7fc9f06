from .csm_projector import CSMProjector
from .csr_decoder import CSRDecoder
from .css_decoder import CSSDecoder

__all__ = ['CSMProjector', 'CSRDecoder', 'CSSDecoder']
