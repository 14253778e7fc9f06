"""Checks a training or test command makes before anything is built: the config exists, and the data
folders and files its loaders name are there.

``tools/dist_train.sh`` / ``tools/dist_test.sh`` run them once, in one process, before torchrun starts N
workers (``tools/train.py --preflight``), and ``tools/train.py`` / ``tools/test.py`` run them again
before the Runner is built. A failure is one line (:class:`PreflightError`) that names the config, the
key to set with ``--cfg-options`` and the document that says how to build the data; not N copies of a
traceback after the workers have started.
"""
import difflib
import glob
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DATA_KEYS = ('data_root', 'ann_file', 'data_prefix', 'keypoint_file')  # background_dir may be absent


class PreflightError(FileNotFoundError):
    """A config or data path a command needs is missing; the message is one line."""


def resolve_config(path: str) -> str:
    """The config file a command names: the path itself, or ``<path>.py`` for a name given without its
    extension (``configs/pretrain/saip_vit-tiny_lup1m``; the extension-less links beside the short-named
    entry points let ``mim train saip_mm saip_vit-tiny_lup1m`` find them).

    Raises:
        PreflightError: If there is no such config, suggesting up to three close config names.
    """
    if osp.splitext(path)[1] not in ('.py', '.json', '.yml', '.yaml'):
        target = osp.realpath(path) if osp.islink(path) else path + '.py'
        if osp.isfile(target) and target.endswith('.py'):
            return target
    if osp.isfile(path):
        return path
    known = glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    names = {osp.basename(p): osp.relpath(p, ROOT) for p in known if '_base_' not in p}
    close = difflib.get_close_matches(osp.basename(path), list(names), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(names[c] for c in close)}?" if close else ''
    raise PreflightError(f'config {path}: no such file{hint}')


def check_config_path(path: str) -> None:
    """Refuse a config path that names no config (:func:`resolve_config`)."""
    resolve_config(path)


def dataset_paths(node, key: str) -> Iterator[Tuple[str, str]]:
    """``(config key, path)`` of every data path under a dataset config, through wrappers
    (``dataset=``, ``datasets=[...]``) and relative to the ``data_root`` where the dataset joins them."""
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from dataset_paths(item, f'{key}.{i}')
        return
    if not isinstance(node, dict):
        return
    root = node.get('data_root') or ''
    if isinstance(root, str) and root:
        yield f'{key}.data_root', root
    for name in DATA_KEYS[1:]:
        value = node.get(name)
        if isinstance(value, dict):  # data_prefix=dict(img_path='images/')
            for sub, rel in value.items():
                if isinstance(rel, str) and rel:
                    yield f'{key}.{name}.{sub}', _joined(root, rel)
        elif isinstance(value, str) and value:
            yield f'{key}.{name}', _joined(root, value)
    for name in ('dataset', 'datasets'):
        if name in node:
            yield from dataset_paths(node[name], f'{key}.{name}')


def _joined(root: str, path: str) -> str:
    if '://' in path or osp.isabs(path) or not root:
        return path
    return osp.join(root, path)


def _at(cfg: Config, dotted: str):
    """The config node at a dotted key (list indices as numbers), or None."""
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for part in dotted.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def missing_data(cfg: Config, loaders: List[str]) -> List[Tuple[str, str]]:
    """``(key, path)`` of the data paths of ``loaders`` (dotted keys, e.g. ``['train_dataloader']``) that
    do not exist on this machine (remote ``scheme://`` paths are not checked)."""
    missing = []
    for loader in loaders:
        node = _at(cfg, loader)
        if not isinstance(node, dict) or node.get('dataset') is None:
            continue
        for key, path in dataset_paths(node['dataset'], f'{loader}.dataset'):
            if '://' not in path and not osp.exists(path):
                missing.append((key, path))
    return missing


def guide_for(config_path: str) -> str:
    """The document that says how to get a config's data."""
    if f'{osp.sep}downstream{osp.sep}' in osp.abspath(config_path):
        return 'docs/downstream.md'
    return 'docs/pretraining.md (section "Person data")'


def check_data(cfg: Config, config_path: str, loaders: List[str]) -> None:
    """Refuse to start when a data path of ``loaders`` is missing.

    Raises:
        PreflightError: One line naming the first missing path, the ``--cfg-options`` key that sets it,
            how many others are missing, and the guide to building the data.
    """
    missing = missing_data(cfg, loaders)
    if not missing:
        return
    (key, path), more = missing[0], len(missing) - 1
    others = f' (and {more} more missing path(s))' if more else ''
    raise PreflightError(f'{osp.basename(config_path)}: the data folder or file {path} does not exist'
                         f'{others}; '
                         f'build it as {guide_for(config_path)} says, or point the config at your copy with '
                         f'--cfg-options {key}=PATH')


def loaders_used(cfg: Config, mode: str) -> List[str]:
    """The dataloaders a ``train`` (with validation when configured) or ``test`` run builds."""
    if mode == 'test':
        return ['test_dataloader']
    if not (cfg.get('val_cfg') and cfg.get('val_dataloader')):
        return ['train_dataloader']
    extra = [f'val_cfg.extra_sets.{i}.dataloader' for i in range(len(cfg.val_cfg.get('extra_sets', [])))]
    return ['train_dataloader', 'val_dataloader'] + extra


class ConfigConflictError(ValueError):
    """Two parts of a config ask for the same work (e.g. an augmentation applied twice); one line."""


# pipeline transforms that SAIPDataPreprocessor(photometric=...) makes on the device instead
PHOTOMETRIC_TRANSFORMS = ('ColorJitter', 'CV2ColorJitter', 'RandomGrayscale', 'GaussianBlur',
                          'CV2GaussianBlur', 'Solarize')


def _transforms(node, key: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, transform config)`` of every transform of a pipeline, nested ones included
    (``MultiView``'s and ``RandomApply``'s ``transforms``)."""
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from _transforms(item, f'{key}.{i}')
    elif isinstance(node, dict):
        if 'type' in node:
            yield key, node
        if 'transforms' in node:
            yield from _transforms(node['transforms'], f'{key}.transforms')


def check_augmentation_placement(cfg: Config) -> None:
    """Refuse a photometric augmentation asked of the data preprocessor (``model.data_preprocessor.
    photometric``) while the training pipeline still applies it on the CPU: it would be applied twice.

    Raises:
        ConfigConflictError: Naming both keys.
    """
    pre = (cfg.get('model') or {}).get('data_preprocessor') or {}
    loader = cfg.get('train_dataloader') or {}
    if not pre.get('photometric') or not isinstance(loader.get('dataset'), dict):
        return
    dataset, key = loader['dataset'], 'train_dataloader.dataset'
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'), dict):  # dataset wrappers
        dataset, key = dataset['dataset'], key + '.dataset'
    for at, transform in _transforms(dataset.get('pipeline') or [], key + '.pipeline'):
        name = str(transform['type']).split('.')[-1]
        if name in PHOTOMETRIC_TRANSFORMS:
            raise ConfigConflictError(
                f'model.data_preprocessor.photometric augments on the device, but {at} ({name}) still does '
                'it in the pipeline (it would be applied twice); remove one: photometric=None for the CPU '
                'path, or a pipeline without the photometric transforms (device_aug_pipeline)')


def _is_pretraining(cfg: Config) -> bool:
    """Whether the config's model is a saip_mm pretraining algorithm (``PretrainAlgorithm``)."""
    model = cfg.get('model') or {}
    if not isinstance(model, dict) or 'type' not in model:
        return False
    from saip_mm.models.algorithms.base import PretrainAlgorithm
    from saip_mm.registry import MODELS
    kind = model['type'] if isinstance(model['type'], type) else MODELS.get(str(model['type']).split('.')[-1])
    return isinstance(kind, type) and issubclass(kind, PretrainAlgorithm)


def check_compile(cfg: Config) -> None:
    """Refuse mmengine's ``compile`` (``torch.compile`` of the whole ``train_step``) for a pretraining
    model: inductor failed its first step on the CPU (torch 2.13: an assertion on the patch embedding's
    first-seen strides once a view of another size came), and the step's host draws and varying view
    sizes are not one graph; ``model.compile_encoders`` compiles the transformer blocks instead.

    Raises:
        ConfigConflictError: Naming both keys.
    """
    if cfg.get('compile') and _is_pretraining(cfg):
        raise ConfigConflictError(
            'compile: mmengine compiles the whole train_step, which fails on a pretraining model '
            "(inductor's stride assertion on the patch embedding when the view size changes); set "
            'compile=None and model.compile_encoders=True (the transformer blocks, dynamic shapes)')


def check_runtime_info(cfg: Config) -> None:
    """Refuse a pretraining config whose ``default_hooks.runtime_info`` is not ``DeferredRuntimeInfoHook``:
    that hook owns the run's finiteness check (the model reads nothing back) and logs the gradient norm
    the saip_mm optimizer wrappers keep on the device; another hook would train on past a NaN loss.

    Raises:
        ConfigConflictError: Naming the key.
    """
    if not _is_pretraining(cfg):
        return
    from saip_mm.engine.hooks import DeferredRuntimeInfoHook
    from saip_mm.registry import HOOKS
    hook = (cfg.get('default_hooks') or {}).get('runtime_info') or {}
    name = hook.get('type') if isinstance(hook, dict) else hook
    kind = name if isinstance(name, type) else HOOKS.get(str(name).split('.')[-1]) if name else None
    if not (isinstance(kind, type) and issubclass(kind, DeferredRuntimeInfoHook)):
        raise ConfigConflictError(
            f"default_hooks.runtime_info is {getattr(name, '__name__', name)}; a "
            "pretraining run needs type='DeferredRuntimeInfoHook' (it checks the losses' finiteness, the "
            "model does not, and logs the step's scalars once per logging interval)")


def preflight(cfg: Config, config_path: str, mode: str = 'train',
              loaders: Optional[List[str]] = None) -> None:
    """All checks of a ``train`` / ``test`` command on a loaded and merged config (module docstring)."""
    if mode == 'train':
        check_augmentation_placement(cfg)
        check_compile(cfg)
        check_runtime_info(cfg)
    check_data(cfg, config_path, loaders or loaders_used(cfg, mode))


__all__ = ['PreflightError', 'ConfigConflictError', 'check_augmentation_placement', 'check_compile',
           'check_config_path', 'check_data', 'check_runtime_info', 'dataset_paths', 'missing_data',
           'preflight', 'resolve_config']
