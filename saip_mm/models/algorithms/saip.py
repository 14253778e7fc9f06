"""SAIP: Scale-Aware Image Pretraining (paper §III, Fig. 3; appendix A), and the baselines made of its
objectives (DINO: CSM on multi-crops; MAE: CSR without anchor or expert; MAE+DINO: both).

The student (image encoder) and the expert each encode an image once; the three objectives
(``models/objectives``) read their tokens:

* CSM (eq. 1): global tokens → ``CSMProjector`` → ``CSMHead`` (DINO cross-entropy across scales);
* CSR (eq. 2): masked view (queries) + anchor tokens (keys/values) → ``CSRDecoder`` → ``CSRHead``;
* CSS (eq. 3): view tokens (queries) + expert canvas tokens → ``CSSDecoder`` → ``CSSHead``.

Any objective whose config is ``None`` is not built (Table IV's ablations are configs).
"""
from typing import List, Optional

from saip_mm.registry import MODELS

from .base import PretrainAlgorithm


@MODELS.register_module()
class SAIP(PretrainAlgorithm):
    """SAIP pretraining: CSM, CSR and CSS on the student's and the expert's tokens.

    Views are numbered as images: ``0`` is the anchor, ``1..N`` the multi-resolution views in the
    order the pipeline / data preprocessor gives them.

    Args:
        backbone (dict): The student image encoder.
        csm (dict, optional): ``CSM``'s config without its type (``neck``, ``head``, ``level``,
            ``teacher_views``, ``student_views``, ``koleo``); ``None`` disables CSM.
        csr (dict, optional): ``CSR``'s (``neck``, ``head``, ``level``, ``view_index``, ``kv``,
            ``query_encoder``, ``mask_ratio``, ``mask_type``, ``encode_masked``, ``query_global``).
        css (dict, optional): ``CSS``'s (``neck``, ``head``, ``level``, ``query_views``).
        objectives (dict, optional): More objectives by name (``dict(type=..., ...)``), e.g. a new one
            (``docs/advanced_guides/add_an_objective.md``).
        **kwargs: ``PretrainAlgorithm``'s (``expert``, ``seed``, ``eval_cfg``, ``data_preprocessor``).
    """

    def __init__(self, backbone: dict, csm: Optional[dict] = None, csr: Optional[dict] = None,
                 css: Optional[dict] = None, objectives: Optional[dict] = None, **kwargs) -> None:
        if csm is None and csr is None and css is None:
            raise ValueError('SAIP needs at least one of csm, csr, css')
        units = {name: None if cfg is None else dict(dict(type=kind), **cfg)
                 for name, kind, cfg in (('csm', 'CSM', csm), ('csr', 'CSR', csr), ('css', 'CSS', css))}
        super().__init__(backbone=backbone, objectives=dict(units, **(objectives or {})), **kwargs)


__all__: List[str] = ['SAIP']
