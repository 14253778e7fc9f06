from .align_head import InfoNCEAlignHead
from .csm_head import CSMHead
from .csr_head import CSRHead
from .css_head import CSSHead
from .patch_distill_head import PatchDistillHead
from .semantic_head import SemanticTokenHead

__all__ = ['InfoNCEAlignHead', 'CSMHead', 'CSRHead', 'CSSHead', 'PatchDistillHead', 'SemanticTokenHead']
