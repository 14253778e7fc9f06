"""The options of SAIP's objectives and of its retrieval evaluation, validated at build time.

Each objective config is ``dict(neck=..., head=..., **options)`` (paper §III-B; the defaults are the
authors' code where the paper is silent). An unknown key or a value outside its choices raises, so a
typo such as ``kv='patch'`` cannot silently fall back to a default.
"""
from typing import Dict, Optional, Sequence

from ..utils.masking import MASK_TYPES
from ..utils.retrieval import FEATURES

LEVELS = ('final', 'mid')
# the options of each objective besides ``neck`` / ``head``, with their defaults
OBJECTIVE_OPTIONS: Dict[str, dict] = dict(
    csm=dict(level='final', teacher_views=(0, ), student_views=None, koleo=None),
    csr=dict(level='mid', query_encoder='expert', kv='patches', view_index=None, mask_ratio=0.75,
             mask_type='random', encode_masked='drop', query_global=False),
    css=dict(level='mid', query_views=None),
)
OPTION_CHOICES = dict(level=LEVELS, query_encoder=('expert', 'student'), kv=('patches', 'cls', 'none'),
                      feature=FEATURES, encoder=('student', 'expert'), encode_masked=('drop', 'all', 'code'),
                      mask_type=MASK_TYPES)
# what the retrieval evaluation (``predict`` mode) extracts
EVAL_OPTIONS = dict(scales=(0.75, 1.0, 1.5), feature='global', encoder='student', level='final',
                    csm_diagnostics=True)


def validate_options(name: str, cfg: dict, defaults: dict, extra: Sequence[str] = ()) -> dict:
    """``defaults`` updated by ``cfg``.

    Args:
        name (str): The config key, for messages (``model.<name>.<key>``).
        cfg (dict): The options given.
        defaults (dict): Every allowed option with its default.
        extra (Sequence[str]): Keys allowed besides the options (named in the message).

    Returns:
        dict: The complete options.

    Raises:
        ValueError: On an unknown key or a value outside ``OPTION_CHOICES``.
    """
    out = dict(defaults)
    for key, value in cfg.items():
        if key not in defaults:
            raise ValueError(f'unknown option model.{name}.{key}; allowed: '
                             f"{', '.join([*extra, *defaults])}")
        if key in OPTION_CHOICES and value not in OPTION_CHOICES[key]:
            raise ValueError(f'model.{name}.{key} must be one of {OPTION_CHOICES[key]}, got {value!r}')
        out[key] = value
    return out


def objective_options(name: str, cfg: Optional[dict]) -> Optional[dict]:
    """The validated options of objective ``name`` (``'csm'``, ``'csr'``, ``'css'``), or ``None``
    when the objective is disabled; its ``neck`` and ``head`` must be given."""
    if cfg is None:
        return None
    out = validate_options(name, {k: v for k, v in cfg.items() if k not in ('neck', 'head')},
                           OBJECTIVE_OPTIONS[name], extra=('neck', 'head'))
    for key in ('neck', 'head'):
        if key not in cfg:
            raise ValueError(f'model.{name} needs a {key!r}')
    return out


def expert_readers(csm: Optional[dict], csr: Optional[dict], css: Optional[dict],
                   eval_cfg: dict) -> list:
    """The options that read the expert (an algorithm without one, e.g. MAE, must have none).

    Returns:
        list[str]: e.g. ``['model.csm (its teacher)', 'model.csr.query_encoder']``.
    """
    readers = []
    if csm is not None:
        readers.append('model.csm (its teacher)')
    if csr is not None and csr['query_encoder'] == 'expert':
        readers.append("model.csr.query_encoder='expert'")
    if css is not None:
        readers.append('model.css (the canvas encoder)')
    if eval_cfg['encoder'] == 'expert':
        readers.append("model.eval_cfg.encoder='expert'")
    return readers


def check_csr_memory(csr: dict, neck) -> None:
    """``kv='none'`` (MAE: no anchor) and a CSR decoder built without key/value layers go together (every
    CSR neck states ``memory``: whether it reads anchor tokens).

    Raises:
        ValueError: When they disagree.
    """
    if (csr['kv'] == 'none') == neck.memory:
        raise ValueError(f"model.csr.kv={csr['kv']!r} needs model.csr.neck.memory={not neck.memory} (a "
                         f"decoder {'without' if neck.memory else 'with'} key/value inputs)")


def preprocessor_with_mask_options(csr: Optional[dict], preprocessor: dict) -> dict:
    """The data preprocessor's config with CSR's ``mask_ratio`` and ``mask_type`` (it draws the masks of
    batch-level views), so that ``model.csr`` is the one setting of each; they reach the preprocessor as
    arguments when it is built.

    Raises:
        ValueError: When the preprocessor's config sets a different value (refused rather than silently
            winning).
    """
    if csr is None:
        return preprocessor
    out = dict(preprocessor)
    for key in ('mask_ratio', 'mask_type'):
        own = out.get(key)
        if own is not None and own != csr[key]:
            raise ValueError(f'model.data_preprocessor.{key}={own} disagrees with '
                             f'model.csr.{key}={csr[key]}; set model.csr.{key} only')
        out[key] = csr[key]
    return out


__all__ = ['EVAL_OPTIONS', 'LEVELS', 'OBJECTIVE_OPTIONS', 'OPTION_CHOICES', 'check_csr_memory',
           'expert_readers', 'objective_options', 'preprocessor_with_mask_options',
           'validate_options']
