"""Compatibility shims for the OpenMMLab 2.x stack on current PyTorch. Applied on import; no file in
site-packages is edited. Each shim is covered by a test that fails without it (tests/test_compat.py).

1. ``torch.load`` defaults to ``weights_only=True`` since torch 2.6. mmengine 0.10.7 calls
   ``torch.load(filename, map_location=...)`` for runner checkpoints, which also hold mmengine's
   ``HistoryBuffer`` objects, numpy arrays/scalars and config dicts (message hub, metadata), so
   ``--resume`` and ``load_from`` fail with "Weights only load failed". We allow exactly those types
   with ``torch.serialization.add_safe_globals`` instead of turning the safe loader off.
   ``HistoryBuffer.__getstate__`` also pickles its default statistics functions as
   ``getattr(HistoryBuffer, 'min')``; allowing ``getattr`` would open the safe loader to anything, so
   :func:`lean_history_buffer_pickles` leaves the default functions out of the pickle (its
   ``__setstate__`` restores them) and keeps only user-registered ones.
2. mmdet 3.3.0 and mmseg 1.2.2 assert ``mmcv < 2.2.0`` at import and mmpretrain 1.2.0 ``< 2.4.0``;
   the scripted install pins mmcv 2.1.0, which all accept. :func:`check_versions` reports a mismatch
   with the install command instead of a bare AssertionError deep in an import, and so a transformers
   >= 5 beside mmpretrain 1.2 (whose multimodal models then fail to import).
3. :func:`quiet_upstream_warnings` silences mmcv's per-call pillow-backend notice of its colour
   adjustment, which every run printed once per process.
4. ``Config.pretty_text`` formats the config with yapf on every call (~1.6 s for a SAIP config on this
   2-core CPU), and a Runner asks for it six times (the log, the dumped config, each visualisation
   backend, the metadata of each checkpoint); ``Config.fromfile`` ignores ``format_python_code`` for
   ordinary configs. :func:`memoize_config_formatting` makes mmengine's call to yapf format the text
   statement by statement and remember each statement's answer (the same text out as yapf's on the
   whole: compared on all 91 shipped configs, tested on three), so a run formats each config once
   and a process that builds many Runners (a test session, a sweep) formats each shared statement
   once.
5. A config base ``mmpose::path/base.py`` (every downstream config has some) makes mmengine first look
   the name up among the package's models: it reads every ``metafile.yml`` that the package's
   ``model-index.yml`` lists (86 YAML files for mmdet, ~0.3 s), and only then, not finding it, takes the
   path. It does so for every external base of every config loaded. :func:`index_metafiles_once` makes
   that lookup read each package's metafiles once per process (the same answer: the first model entry
   of each config name, as mmengine picks it).
6. mmcv 2.1's ``adjust_hue`` (mmpretrain's ``ColorJitter`` calls it) shifts the hue by
   ``np.uint8(hue_factor * 255)``: numpy 1 truncates and wraps a negative shift (-0.076 -> 237), numpy 2
   raises ``OverflowError`` for any negative factor, so half the hue draws of a colour-jittered pipeline
   fail under numpy 2 (the image of the lent GPU machines has numpy 2.5). :func:`wrap_hue_shift` hands
   mmcv a factor whose ``* 255`` is numpy 1's level, under either numpy.
"""
import collections
import functools
import importlib.metadata
import re
import warnings
from typing import List

import numpy as np
import torch


def runner_checkpoint_globals() -> List[object]:
    """The non-tensor types that mmengine 0.10 puts into a runner checkpoint."""
    from mmengine.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer

    numpy_types: List[object] = [np.ndarray, np.dtype, np.core.multiarray._reconstruct,
                                 np.core.multiarray.scalar]
    # dtype classes (np.dtypes.Float64DType, ...) are pickled by class since numpy 1.25
    for name in dir(getattr(np, 'dtypes', object)):
        if name.endswith('DType'):
            numpy_types.append(getattr(np.dtypes, name))
    import _codecs  # numpy arrays pickle their bytes through _codecs.encode
    return [HistoryBuffer, ConfigDict, collections.OrderedDict, collections.defaultdict,
            _codecs.encode, *numpy_types]


DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getstate(self) -> dict:
    state = {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}
    custom = {k: v for k, v in self._statistics_methods.items() if k not in DEFAULT_STATISTICS}
    if custom:
        state['statistics_methods'] = custom
    return state


def lean_history_buffer_pickles() -> None:
    """Pickle ``HistoryBuffer`` without its default statistics functions (see the module doc)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate


def allow_runner_checkpoints() -> bool:
    """Let ``torch.load(weights_only=True)`` read mmengine runner checkpoints.

    Returns:
        bool: True if the safe globals were registered (torch has ``add_safe_globals``).
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(runner_checkpoint_globals())
    return True


def check_versions() -> None:
    """Fail early, naming the fix, when mmcv is outside what mmdet/mmseg/mmpose accept."""
    try:
        import mmcv
    except ImportError as e:  # pragma: no cover - the install script provides mmcv
        raise ImportError('mmcv is not installed: run `bash tools/install.sh`') from e
    from mmengine.utils import digit_version
    if not digit_version('2.0.0') <= digit_version(mmcv.__version__) < digit_version('2.2.0'):
        raise ImportError(f'mmcv {mmcv.__version__} is installed, but mmdet 3.3 / mmseg 1.2 / mmpose '
                          '1.3 need 2.0 <= mmcv < 2.2; run `bash tools/install.sh` (builds 2.1.0)')
    # mmpretrain 1.2 imports its multimodal models whenever transformers >= 4.28 is installed; under
    # transformers 5 they fail at import ("NoneType takes no arguments"), and mmpretrain.models with them
    # (seen on the lent GPU machines' image, transformers 5.17)
    try:
        transformers = importlib.metadata.version('transformers')
    except importlib.metadata.PackageNotFoundError:
        return
    if digit_version(transformers) >= digit_version('5.0.0'):
        raise ImportError(f'transformers {transformers} is installed, and mmpretrain 1.2 cannot import its '
                          'models beside transformers >= 5: pip install "transformers<5" (or uninstall it)')


def quiet_upstream_warnings() -> None:
    """Silence upstream warnings that say nothing to a user of a SAIP run.

    mmcv's ``adjust_color`` warns "Only use 'alpha' for pillow backend." on every call with the pillow
    backend (mmpretrain's colour jitter and grayscale use it), once per process and dataloader worker;
    the result is correct (the value is the documented behaviour of that backend).
    """
    warnings.filterwarnings('ignore', message="Only use 'alpha' for pillow backend.", category=UserWarning)


class _WrappedHueFactor(float):
    """A hue factor in [-0.5, 0.5] (compared as itself) whose ``* 255`` is the shift's uint8 level as numpy
    1 computes ``np.uint8(hue_factor * 255)``: truncated towards zero, then wrapped (-19.38 -> 237)."""

    def __mul__(self, other):
        return int(float(self) * other) % 256


def wrap_hue_shift() -> None:
    """Make ``mmcv.adjust_hue`` (and its aliases) give ``_WrappedHueFactor`` to mmcv's own function."""
    import mmcv
    import mmcv.image.photometric as photometric
    original = photometric.adjust_hue
    if hasattr(original, '__wrapped__'):
        return

    @functools.wraps(original)
    def adjust_hue(img, hue_factor, backend=None):
        return original(img, _WrappedHueFactor(hue_factor), backend)

    for module in (mmcv, mmcv.image, photometric):
        module.adjust_hue = adjust_hue


# a top-level statement of the text ``Config.pretty_text`` gives to yapf: ``name = value`` (a config
# file's) or ``name=value`` at column 0; what else starts a line at column 0 is a value's closing bracket
_STATEMENT = re.compile(r'\n(?=[A-Za-z_][A-Za-z0-9_]* ?= ?)')


@functools.lru_cache(maxsize=1024)
def format_config_statement(text: str, style: tuple) -> str:
    """yapf's ``FormatCode(text, style_config=dict(style))`` of one top-level statement, remembered."""
    from yapf.yapflib.yapf_api import FormatCode
    return FormatCode(text, style_config=dict(style))[0]


def format_config_code(text: str, style: tuple) -> tuple:
    """yapf's ``FormatCode(text, style_config=dict(style))`` for a config text: yapf formats each
    top-level statement on its own (no blank lines, no comments, no definitions in these texts), so the
    text is formatted statement by statement and each statement's answer remembered (the last 1024):
    a Runner's six calls, and configs that share statements (a test session's, a sweep's), format
    each statement once."""
    formatted = ''.join(format_config_statement(part, style) for part in _STATEMENT.split(text))
    return formatted, formatted != text


def _memoized_format_code(text: str, style_config: dict, **kwargs) -> tuple:
    if kwargs:  # mmengine passes ``verify`` to a yapf older than 0.40.2 only: not remembered
        from yapf.yapflib.yapf_api import FormatCode
        return FormatCode(text, style_config=style_config, **kwargs)
    return format_config_code(text, tuple(sorted(style_config.items())))


def memoize_config_formatting() -> None:
    """Route mmengine's ``Config.pretty_text`` through :func:`format_config_code` (see the module doc)."""
    import mmengine.config.config as config_module
    config_module.FormatCode = _memoized_format_code


MMENGINE_CFG_METAINFO = None  # mmengine's lookup, replaced by index_metafiles_once


@functools.lru_cache(maxsize=None)
def package_model_index(package_path: str) -> dict:
    """``{config name: model entry}`` of a package's ``.mim/model-index.yml`` and the metafiles it
    imports: the first entry that names each config (entries without ``Config`` are left out, with
    mmengine's warning)."""
    import os.path as osp

    from mmengine.fileio import load
    index = {}
    for meta_path in load(osp.join(package_path, '.mim', 'model-index.yml'))['Import']:
        for model in load(osp.join(package_path, '.mim', meta_path))['Models']:
            if 'Config' not in model:
                warnings.warn(f'There is not `Config` define in {model}')
                continue
            index.setdefault(model['Config'].partition('/')[-1], model)
    return index


def _indexed_cfg_metainfo(package_path: str, cfg_path: str) -> dict:
    index = package_model_index(package_path)
    if cfg_path not in index:  # mmengine's refusal, which its caller takes for "a base config path"
        raise ValueError(f'Expected configs: {index.keys()}, but got {cfg_path}')
    return index[cfg_path]


def index_metafiles_once() -> None:
    """Route mmengine's lookup of an external config name through :func:`package_model_index` (see the
    module doc)."""
    import mmengine.config.utils as config_utils
    if config_utils._get_cfg_metainfo is not _indexed_cfg_metainfo:
        global MMENGINE_CFG_METAINFO
        MMENGINE_CFG_METAINFO = config_utils._get_cfg_metainfo  # kept for the test that compares
        config_utils._get_cfg_metainfo = _indexed_cfg_metainfo


lean_history_buffer_pickles()
allow_runner_checkpoints()
check_versions()
quiet_upstream_warnings()
wrap_hue_shift()
memoize_config_formatting()
index_metafiles_once()
