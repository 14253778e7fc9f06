"""Reading checkpoints that users hand to the tools, without running anything stored in them.

Every tool that takes a checkpoint path (``saip2backbone.py``, ``publish_model.py``,
``pytorch2onnx.py``, ``eval_backbone.py``, ``visualize_pretrain.py``) loads it with
:func:`load_checkpoint`:

* the file is unpickled with torch's safe loader (``weights_only=True``); the compat shim's allowlist
  (``saip_mm/compat.py``) lets mmengine runner checkpoints through, and a pickle that asks for any
  other global (``os.system``, ``builtins.exec``, ...) is refused before anything of it runs;
* a missing, empty, text, truncated or tensor-less file gives one line that names the file and says
  what it is (:class:`CheckpointError`).

A runner checkpoint also stores its config as Python source (``meta['cfg']``, mmengine's
``Config.pretty_text``). mmengine's ``Config.fromstring`` would *execute* that source;
:func:`config_from_checkpoint` instead reads it as data: each statement must be ``name = <literal>``
where a literal is a number, string, bool, None, list, tuple, set, ``{...}`` or ``dict(key=...)`` of
literals. Anything else (an import, a call, an attribute, a comprehension) is refused with its line.
"""
import ast
import math
import os.path as osp
import re
from typing import Any, Dict

import torch

GLOBAL = re.compile(r'Unsupported global: GLOBAL ([\w.]+)')


class CheckpointError(ValueError):
    """A user-supplied checkpoint that cannot be used; the message is one line naming the file."""


class CheckpointNotFound(CheckpointError, FileNotFoundError):
    """No file at the checkpoint path (also a ``FileNotFoundError``)."""


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _what_failed(path: str, err: BaseException) -> str:
    """The reason the safe loader refused ``path``, in words."""
    text = str(err)
    unsafe = GLOBAL.search(text)
    if unsafe:
        return (f'{path} was refused: its pickle asks for {unsafe.group(1)}, which is code, not tensors '
                '(saip_mm loads checkpoints with torch.load(weights_only=True) and never runs code '
                'from them)')
    with open(path, 'rb') as f:
        head = f.read(64)
    if head.startswith(b'PK\x03\x04'):  # torch's zip format: a torn copy or an interrupted save
        return f'{path} is a truncated or corrupt PyTorch checkpoint ({_first_line(err)})'
    if head and all(32 <= b < 127 or b in b'\t\r\n' for b in head):
        return f'{path} is not a PyTorch checkpoint: a text file starting {head[:24].decode()!r}'
    return f'{path} is not a PyTorch checkpoint ({type(err).__name__}: {_first_line(err)})'


def safe_load(path: str) -> Any:
    """The object a checkpoint file holds, unpickled with torch's safe loader (module docstring).

    Raises:
        CheckpointError: One line naming the file: missing, empty, text, truncated, or refused by the
            safe loader (naming the global it asked for).
    """
    if not path:
        raise CheckpointError('no checkpoint given (an empty path)')
    if not osp.isfile(path):
        raise CheckpointNotFound(f'{path}: no such file')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'{path} is empty (0 bytes); expected a SAIP checkpoint written by the '
                              'Runner (work_dirs/<run>/iter_<N>.pth) or by saip2backbone.py')
    from saip_mm import compat  # noqa: F401  (the allowlist that lets runner checkpoints load safely)
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a file that is not its own
        raise CheckpointError(_what_failed(path, err)) from None


def load_checkpoint(path: str) -> Dict[str, Any]:
    """The state dict and metadata of a checkpoint file, loaded with :func:`safe_load`.

    Args:
        path (str): A runner checkpoint (``{'state_dict': ..., 'meta': ...}``) or a bare state dict
            (e.g. ``saip2backbone.py`` output).

    Returns:
        dict: ``state`` (name -> tensor) and ``meta`` (``{}`` for a bare state dict).

    Raises:
        CheckpointError: As :func:`safe_load`, or when the file holds no state dict of tensors.
    """
    ckpt = safe_load(path)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not any(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f'{path} holds no state dict of tensors (a {type(ckpt).__name__})')
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    return dict(state={k: v for k, v in state.items() if torch.is_tensor(v)}, meta=meta)


NAMED_FLOATS = {'inf': math.inf, 'nan': math.nan}


def _literal(node: ast.AST, where: str) -> Any:
    """The value of one literal expression of a config (module docstring); refuses anything else."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e, where) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {_literal(k, where): _literal(v, where) for k, v in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict'
            and not node.args and all(k.arg is not None for k in node.keywords)):
        return {k.arg: _literal(k.value, where) for k in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, where)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in NAMED_FLOATS:  # how pretty_text prints float('inf')
        return NAMED_FLOATS[node.id]
    snippet = ast.unparse(node)
    raise CheckpointError(f'{where}, line {node.lineno}: {snippet[:60]!r} is not a literal; the stored '
                          'config is read as data and never executed (give --config)')


def literal_config(text: str, where: str) -> Dict[str, Any]:
    """The top-level ``name = literal`` assignments of a Python config's source, as a dict.

    Args:
        text (str): Config source (``Config.pretty_text``).
        where (str): What to name in errors (the checkpoint holding the text).

    Raises:
        CheckpointError: On a syntax error or any statement that is not a literal assignment.
    """
    try:
        tree = ast.parse(text, mode='exec')
    except SyntaxError as err:
        raise CheckpointError(f'{where}: the stored config is not valid Python (line {err.lineno}: '
                              f'{err.msg}); give --config') from None
    out: Dict[str, Any] = {}
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise CheckpointError(f'{where}, line {stmt.lineno}: {ast.unparse(stmt)[:60]!r} is not a '
                                  '"name = value" assignment; the stored config is read as data and '
                                  'never executed (give --config)')
        out[stmt.targets[0].id] = _literal(stmt.value, where)
    return out


def config_from_checkpoint(path: str, meta: Dict[str, Any]):
    """The config a runner checkpoint was trained with, read as data (never executed).

    Raises:
        CheckpointError: When ``meta`` holds no config (exported backbones) or the stored source is not
            plain data.
    """
    from mmengine.config import Config
    text = meta.get('cfg')
    if not isinstance(text, str) or not text.strip():
        raise CheckpointError(f'{path} carries no config (exported backbones and bare state dicts do '
                              'not); give --config')
    return Config(literal_config(text, f'{path} (meta.cfg)'))


__all__ = ['CheckpointError', 'CheckpointNotFound', 'config_from_checkpoint', 'literal_config',
           'load_checkpoint', 'safe_load']
