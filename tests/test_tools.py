"""The OpenMMLab-style tools: dist_train.sh with gloo on CPU, mim, export, data-root config."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch

from saip_mm.models.backbones import SAIPViT

TINY = ['train_cfg.max_iters=2', 'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2']


def _env(root):
    return dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS='1',
                PATH=osp.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))


def test_dist_train_two_gloo_processes(root, tmp_path):
    work = tmp_path / 'dist'
    out = subprocess.run(
        ['bash', osp.join(root, 'tools/dist_train.sh'), 'configs/pretrain/saip_vit-tiny_demo-cpu.py',
         '2', '--work-dir', str(work), '--cfg-options', *TINY],
        cwd=root, env=dict(_env(root), PORT='29581'), capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    log = out.stdout + out.stderr
    # mmengine's environment report: a real 2-process job (it calls the world size "GPU number")
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert "backend='gloo'" in log and 'device_ids=None' in log
    assert (work / 'iter_2.pth').exists()


def test_paper_config_starts_on_a_data_folder(root, tmp_path, demo_root):
    """The paper config (data_root data/LUP1M) starts with the Runner when the folder exists."""
    data = tmp_path / 'data' / 'LUP1M'
    shutil.copytree(osp.join(demo_root, 'crops'), data / 'crops')
    out = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/pretrain/saip_vit-tiny_lup1m.py', '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', f'train_dataloader.dataset.data_root={data}',
         'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
         'model.csm.neck.out_channels=1024', 'model.csm.head.out_channels=1024',
         'model.csr.neck.depth=1', 'model.css.neck.depth=1',
         'train_dataloader.dataset.num_samples=4'],
        cwd=root, env=_env(root), capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_mim_finds_configs_and_tools(root, tmp_path):
    mim = shutil.which('mim', path=os.path.dirname(sys.executable))
    assert mim, 'openmim is not installed'
    import saip_mm
    mim_dir = osp.join(osp.dirname(saip_mm.__file__), '.mim')
    assert osp.isfile(osp.join(mim_dir, 'tools', 'train.py'))
    assert osp.isfile(osp.join(mim_dir, 'configs', 'pretrain', 'saip_vit-tiny_demo-cpu.py'))
    out = subprocess.run(
        [mim, 'train', 'saip_mm', 'configs/pretrain/saip_vit-tiny_demo-cpu.py', '--work-dir',
         str(tmp_path / 'mim'), '--cfg-options', *TINY],
        cwd=root, env=_env(root), capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert (tmp_path / 'mim' / 'iter_2.pth').exists()


def test_export_backbone(root, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.models import VisionTransformer

    from saip_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(root, 'configs/pretrain/saip_vit-tiny_demo-cpu.py'))
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        model.expert.module.backbone.cls_token.fill_(3.0)
    src = tmp_path / 'saip.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), src)
    sys.path.insert(0, osp.join(root, 'tools', 'model_converters'))
    from saip2backbone import main as export
    dst = tmp_path / 'backbone.pth'
    export([str(src), str(dst)])
    ckpt = torch.load(dst, weights_only=True)
    assert all(k.startswith('backbone.') for k in ckpt)
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(ckpt['backbone.' + k], v)
    export([str(src), str(tmp_path / 'expert.pth'), '--source', 'expert'])
    assert torch.all(torch.load(tmp_path / 'expert.pth', weights_only=True)['backbone.cls_token'] == 3)
    # pre-resized for a 256x192 plain mmpretrain ViT: loads strictly, position embedding in 2-D
    export([str(src), str(tmp_path / 'b192.pth'), '--target-size', '256', '192'])
    vit = VisionTransformer(arch='deit-tiny', img_size=(256, 192), out_type='raw')
    state = {k[len('backbone.'):]: v for k, v in
             torch.load(tmp_path / 'b192.pth', weights_only=True).items()}
    res = vit.load_state_dict(state, strict=True)
    assert not res.missing_keys and not res.unexpected_keys
    assert torch.allclose(vit.pos_embed, model.backbone.grid_pos_embed((16, 12)))
    # a checkpoint without SAIP keys is refused with a clear message
    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, tmp_path / 'bad.pth')
    with pytest.raises(KeyError, match='no tensors with prefix "backbone."'):
        export([str(tmp_path / 'bad.pth'), str(tmp_path / 'x.pth')])
