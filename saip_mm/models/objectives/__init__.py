from .base import BaseObjective, Step
from .csm import CSM
from .csr import CSR
from .css import CSS
from .part_masked import PartMaskedModelling
from .patch_distill import MaskedPatchDistill
from .semantic_tokens import SemanticTokens

__all__ = ['BaseObjective', 'CSM', 'CSR', 'CSS', 'MaskedPatchDistill', 'PartMaskedModelling',
           'SemanticTokens', 'Step']
