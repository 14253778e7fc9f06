"""The downstream configs take their ViT-Tiny backbone and no-decay keys from ``configs/downstream/_base_/``
(issue 12, item 2): a backbone edited or re-typed in one task config, or an upstream backbone key that
survives the ``_delete_``, shows up here."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

# what makes a backbone load the pretrained ViT-Tiny; a task may change the rest (the linear probe turns
# stochastic depth off) and add its own output keys
IDENTITY_KEYS = ('type', 'arch', 'patch_size', 'qkv_bias', 'init_cfg')
TASK_KEYS = {'img_size', 'out_type', 'out_indices', 'with_cls_token', 'pretrained_grid', 'frozen_stages'}
# a pretraining method's input to the backbone (SOLIDER's lambda); its configs point at its own checkpoint
METHOD_KEYS = {'semantic_weight'}


@pytest.fixture(scope='module')
def downstream(root):
    paths = sorted(p for p in glob.glob(osp.join(root, 'configs/downstream/**/*.py'), recursive=True)
                   if '/_base_/' not in p)
    return {osp.relpath(p, root): Config.fromfile(p) for p in paths}


@pytest.fixture(scope='module')
def shared(root):
    return Config.fromfile(osp.join(root, 'configs/downstream/_base_/vit-tiny-p16.py'))


def test_every_vit_tiny_backbone_is_the_shared_one(downstream, shared):
    vit = {name: cfg.model.backbone for name, cfg in downstream.items()
           if cfg.model.backbone.get('type') == 'saip_mm.SAIPViT'}
    # pose, WholeBody, CrowdDet, LIP, CIHP, ReID, attributes (PA100K, PETA, linear probe)
    assert len(vit) >= 9, sorted(vit)
    for name, backbone in vit.items():
        extra = set(backbone) - set(shared.vit_tiny_p16) - TASK_KEYS - METHOD_KEYS
        assert not extra, f'{name}: backbone keys {sorted(extra)} are not from the shared ViT-Tiny dict'
        for key in IDENTITY_KEYS:
            value, expected = backbone[key], shared.vit_tiny_p16[key]
            if key == 'init_cfg' and 'semantic_weight' in backbone:
                value, expected = (dict(v, checkpoint=None) for v in (value, expected))
            assert value == expected, f'{name}: backbone.{key}'
        if backbone.get('out_type') == 'featmap':
            for key in ('with_cls_token', 'pretrained_grid'):
                assert backbone[key] == shared.vit_tiny_p16_featmap[key], f'{name}: backbone.{key}'


def test_adamw_configs_keep_the_shared_no_decay_keys(downstream, shared):
    checked = 0
    for name, cfg in downstream.items():
        optim = cfg.get('optim_wrapper', {})
        # ViTPose keeps mmpose's layer-decay constructor and its own keys
        if (optim.get('optimizer', {}).get('type') != 'AdamW' or 'constructor' in optim
                or cfg.model.backbone.get('type') != 'saip_mm.SAIPViT'):
            continue
        checked += 1
        keys = optim.get('paramwise_cfg', {}).get('custom_keys', {})
        for key, value in shared.vit_no_decay.items():
            assert keys.get(key) == value, f'{name}: custom_keys[{key!r}]'
    assert checked >= 4  # CrowdDet, LIP, ReID, attributes
