"""Options validated at build time: an objective's (``dict(neck=..., head=..., **options)``, each
objective listing its own with their defaults, the authors' code where the paper is silent) and the
retrieval evaluation's. An unknown key or a value outside its choices raises, so a typo such as
``kv='patch'`` cannot silently fall back to a default.
"""
from typing import Sequence

from ..utils.masking import MASK_TYPES
from ..utils.retrieval import FEATURES

LEVELS = ('final', 'mid')
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


__all__ = ['EVAL_OPTIONS', 'LEVELS', 'OPTION_CHOICES', 'validate_options']
