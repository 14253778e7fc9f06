"""The options of SAIP's objectives and of its retrieval evaluation, validated at build time.

Each objective config is ``dict(neck=..., head=..., **options)`` (paper §III-B; the defaults are the
authors' code where the paper is silent). An unknown key or a value outside its choices raises, so a
typo such as ``kv='patch'`` cannot silently fall back to a default.
"""
from typing import Dict, Optional, Sequence

from ..utils.retrieval import FEATURES

LEVELS = ('final', 'mid')
# the options of each objective besides ``neck`` / ``head``, with their defaults
OBJECTIVE_OPTIONS: Dict[str, dict] = dict(
    csm=dict(level='final', teacher_views=(0, ), student_views=None),
    csr=dict(level='mid', query_encoder='expert', kv='patches', view_index=None, mask_ratio=0.75,
             encode_masked='drop'),
    css=dict(level='mid', query_views=None),
)
OPTION_CHOICES = dict(level=LEVELS, query_encoder=('expert', 'student'), kv=('patches', 'cls'),
                      feature=FEATURES, encoder=('student', 'expert'), encode_masked=('drop', 'all'))
# what the retrieval evaluation (``predict`` mode) extracts
EVAL_OPTIONS = dict(scales=(0.75, 1.0, 1.5), feature='global', encoder='student', level='final')


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


__all__ = ['EVAL_OPTIONS', 'LEVELS', 'OBJECTIVE_OPTIONS', 'OPTION_CHOICES', 'objective_options',
           'validate_options']
