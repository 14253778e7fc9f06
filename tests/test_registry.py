"""saip_mm registries are children of mmengine's roots: cross-scope names work both ways."""
import os.path as osp
import sys

import pytest
from cfg_paths import DEMO_CFG
from side_by_side import run_side_by_side

UPSTREAM = {
    'mmpretrain': ('mmpretrain.registry', 'VisionTransformer'),
    'mmpose': ('mmpose.registry', 'HeatmapHead'),
    'mmdet': ('mmdet.registry', 'CrowdDet'),
    'mmseg': ('mmseg.registry', 'UPerHead'),
}


@pytest.mark.slow
def test_saip_module_resolves_from_upstream_registry(root):
    """In a fresh interpreter that never imported saip_mm, each upstream registry finds
    ``saip_mm.SAIPViT`` (mmengine imports saip_mm.registry, whose ``locations`` import the models): one
    interpreter per upstream package, started side by side."""
    commands = {}
    for scope, (module, _) in sorted(UPSTREAM.items()):
        code = (f'from {module} import MODELS\n'
                'cls = MODELS.get("saip_mm.SAIPViT")\n'
                'assert cls is not None and cls.__name__ == "SAIPViT", cls\n'
                'import torch\n'
                'm = MODELS.build(dict(type="saip_mm.SAIPViT", img_size=(256, 192)))\n'
                'assert m(torch.zeros(1, 3, 256, 192))[0].shape == (1, 193, 192)\n'
                'print("ok")\n')
        commands[scope] = [sys.executable, '-c', code]
    for scope, out in run_side_by_side(commands, cwd=root).items():
        assert out.returncode == 0, (scope, out.stderr[-3000:])
        assert out.stdout.strip().endswith('ok'), scope


@pytest.mark.parametrize('scope', sorted(UPSTREAM))
def test_upstream_module_resolves_from_saip_scope(scope):
    from saip_mm.registry import MODELS
    cls = MODELS.get(f'{scope}.{UPSTREAM[scope][1]}')
    assert cls is not None and cls.__name__ == UPSTREAM[scope][1]


def test_upstream_transforms_from_saip_scope():
    from saip_mm.registry import TRANSFORMS
    assert TRANSFORMS.get('mmpose.TopdownAffine').__name__ == 'TopdownAffine'
    assert TRANSFORMS.get('mmdet.PackDetInputs').__name__ == 'PackDetInputs'
    assert TRANSFORMS.get('mmseg.LoadAnnotations').__module__.startswith('mmseg')
    assert TRANSFORMS.get('CopyPasteCanvas').__module__.startswith('saip_mm')


def test_saip_config_builds_with_default_scope(root):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from saip_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(root, DEMO_CFG))
    assert cfg.default_scope == 'saip_mm'
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'SAIP'
    assert type(model.data_preprocessor).__name__ == 'SAIPDataPreprocessor'
