"""Issue 29 §5: no config is more than 4 files deep (itself, its bases, their bases, ...), as in
mmpretrain, where a reader finds every value within a few files; the demo, baseline and learning-signal
configs take shared ``_base_`` files with named values rather than inheriting each other's leaves."""
import ast
import glob
import os.path as osp

import pytest

MAX_DEPTH = 4


def local_bases(path: str) -> list:
    """The files that ``path``'s ``_base_`` names in this repository (an upstream ``pkg::`` base is the
    package's business)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    bases = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            bases = [value] if isinstance(value, str) else list(value)
    return [osp.normpath(osp.join(osp.dirname(path), b)) for b in bases if '::' not in b]


def depth(path: str, seen=()) -> int:
    if path in seen:
        raise ValueError(f'{path} inherits itself')
    bases = local_bases(path)
    missing = [b for b in bases if not osp.isfile(b)]
    assert not missing, f'{path}: missing base(s) {missing}'
    return 1 + max((depth(b, seen + (path, )) for b in bases), default=0)


def _configs(root: str) -> list:
    paths = glob.glob(osp.join(root, 'configs', '**', '*.py'), recursive=True) + glob.glob(
        osp.join(root, 'projects', '**', '*-*_*.py'), recursive=True)
    return sorted(p for p in paths if '/_base_/' not in p)


def test_the_depth_counts_files(tmp_path):
    (tmp_path / 'a.py').write_text("_base_ = ['./b.py', 'mmdet::x.py']\n")
    (tmp_path / 'b.py').write_text("_base_ = './c.py'\n")
    (tmp_path / 'c.py').write_text('x = 1\n')
    assert depth(str(tmp_path / 'a.py')) == 3
    (tmp_path / 'c.py').write_text("_base_ = ['./a.py']\n")
    with pytest.raises(ValueError, match='inherits itself'):
        depth(str(tmp_path / 'a.py'))


def test_no_config_is_more_than_four_files_deep(root):
    configs = _configs(root)
    assert len(configs) > 80
    deep = {osp.relpath(p, root): d for p in configs if (d := depth(p)) > MAX_DEPTH}
    assert not deep, f'configs deeper than {MAX_DEPTH} files: {deep}'
