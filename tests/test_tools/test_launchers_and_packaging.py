"""The OpenMMLab-style tools: dist_train.sh with gloo on CPU, mim, export, data-root config."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from cfg_paths import DEMO_CFG, NO_VALIDATION, SHORT_VIT
from side_by_side import run_side_by_side

TINY = ['train_cfg.max_iters=2', 'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=2', *NO_VALIDATION]


def _env(root):
    return dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS='1',
                PATH=osp.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))


@pytest.mark.slow
def test_documented_command_trains_with_gloo_on_a_data_folder(root, tmp_path, demo_root):
    """The README's `tools/dist_train.sh configs/pretrain/saip_vit-tiny_lup1m.py 8`, with 2 processes
    on these 2 cores, starts on a machine that has data/LUP1M (a tiny copy here): a real gloo job, one
    epoch, smaller heads via --cfg-options (the launcher's one test of a multi-process job; the world
    size is torchrun's argument: 8 processes cost 8 interpreter start-ups, ~50 s more, and run the same
    code. The 8 itself reaches the launcher in test_a_launch_without_data_stops_in_one_line)."""
    data = tmp_path / 'data' / 'LUP1M'
    shutil.copytree(osp.join(demo_root, 'crops'), data / 'crops')
    out = subprocess.run(
        ['bash', 'tools/dist_train.sh', SHORT_VIT, '2', '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', f'train_dataloader.dataset.data_root={data}',
         'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'train_dataloader.dataset.num_samples=2',
         'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1',
         'model.csm.neck.out_channels=256', 'model.csm.head.out_channels=256',
         'model.csr.neck.depth=1', 'model.css.neck.depth=1'],
        cwd=root, env=dict(_env(root), PORT='29591'), capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    log = out.stdout + out.stderr
    # mmengine's environment report: a real 2-process job (it calls the world size "GPU number")
    assert 'Distributed training: True' in log and 'GPU number: 2' in log and 'Epoch(train) [1][1/1]' in log
    assert "backend='gloo'" in log and 'device_ids=None' in log
    assert 'PerTensorClipAmpOptimWrapper -> PerTensorClipOptimWrapper' in log  # the paper config: AMP
    assert (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_regular_wheel_carries_mim_files(root, tmp_path):
    """A regular (non-editable) build puts configs/ and tools/ under saip_mm/.mim/ in the wheel."""
    import zipfile
    src = tmp_path / 'src'
    shutil.copytree(root, src, ignore=shutil.ignore_patterns(
        '.venv', 'work_dirs', '.git', '*.egg-info', '.mim', '__pycache__', 'build', 'data'))
    out = subprocess.run([sys.executable, '-m', 'pip', '--isolated', 'wheel', '--no-deps',
                          '--no-build-isolation', '-w', str(tmp_path / 'dist'), str(src)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    wheel = next((tmp_path / 'dist').glob('saip_mm-*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert 'saip_mm/.mim/configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py' in names
    assert 'saip_mm/.mim/tools/train.py' in names
    assert 'saip_mm/.mim/demo/persons/list.txt' in names  # the demo config's data, for mim train
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith('METADATA'))).decode()
    # a plain pip install gets the runtime requirements (mmcv and mmpose: tools/install.sh)
    assert 'Requires-Dist: mmengine' in meta and 'Requires-Dist: mmdet' in meta
    assert 'Requires-Dist: ruff; extra == "tests"' in meta
    assert 'saip_mm-0' in wheel.name and 'LICENSE' in ' '.join(names)
    assert 'saip_mm/models/algorithms/saip.py' in names


@pytest.mark.slow
def test_mim_finds_configs_and_tools(root, tmp_path):
    mim = shutil.which('mim', path=os.path.dirname(sys.executable))
    assert mim, 'openmim is not installed'
    import saip_mm
    mim_dir = osp.join(osp.dirname(saip_mm.__file__), '.mim')
    assert osp.isfile(osp.join(mim_dir, 'tools', 'train.py'))
    assert osp.isfile(osp.join(mim_dir, DEMO_CFG))
    out = subprocess.run(
        [mim, 'train', 'saip_mm', DEMO_CFG, '--work-dir',
         str(tmp_path / 'mim'), '--cfg-options', *TINY],
        # from another folder (issue 14, item 6): the config and the demo data are found through
        # the package's .mim folder and the config's own location
        cwd=tmp_path, env=_env(root), capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert (tmp_path / 'mim' / 'iter_2.pth').exists()


def test_export_backbone(root, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.models import VisionTransformer

    from saip_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(root, DEMO_CFG))
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
    with pytest.raises(ValueError, match=r"not a SAIP checkpoint: top-level modules \['foo'\]"):
        export([str(tmp_path / 'bad.pth'), str(tmp_path / 'x.pth')])


TEST_CFG = '''
default_scope = 'mmpretrain'
custom_imports = dict(imports=['saip_mm.models'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='saip_mm.SAIPViT', arch=dict(embed_dims=48, num_layers=2, num_heads=3,
                  feedforward_channels=96), mid_index=1, img_size=(128, 64), out_type='cls_token'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=48,
              loss=dict(type='CrossEntropyLoss'), topk=(1, )))
data_preprocessor = dict(num_classes=2, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         to_rgb=True)
test_dataloader = dict(
    batch_size=2, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='{root}', pipeline=[
        dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 128)),
        dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_evaluator = dict(type='Accuracy', topk=(1, ))
test_cfg = dict()
'''


@pytest.mark.slow
def test_test_py_and_dist_test_evaluate_a_checkpoint(root, tmp_path, demo_root):
    """tools/test.py and tools/dist_test.sh (2 gloo processes) evaluate a real classifier checkpoint
    on a folder of real crops with mmpretrain's Accuracy."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    data = tmp_path / 'cls'
    crops = sorted(os.listdir(osp.join(demo_root, 'crops')))[:8]
    for i, name in enumerate(crops):
        (data / 'ab'[i % 2]).mkdir(parents=True, exist_ok=True)
        shutil.copy(osp.join(demo_root, 'crops', name), data / 'ab'[i % 2] / name)
    cfg_path = tmp_path / 'cls_cfg.py'
    cfg_path.write_text(TEST_CFG.replace('{root}', str(data)))
    cfg = Config.fromfile(str(cfg_path))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        import saip_mm.models  # noqa: F401
        model = MODELS.build(cfg.model)
    ckpt = tmp_path / 'cls.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), ckpt)
    # the single-process and the 2-process evaluation run side by side
    out = run_side_by_side({
        'single': [sys.executable, 'tools/test.py', str(cfg_path), str(ckpt), '--work-dir',
                   str(tmp_path / 'w1'), '--out', str(tmp_path / 'm.json')],
        'dist': ['bash', 'tools/dist_test.sh', str(cfg_path), str(ckpt), '2', '--work-dir',
                 str(tmp_path / 'w2')],
    }, timeout=600, cwd=root, env=dict(_env(root), PORT='29593'))
    assert out['single'].returncode == 0, out['single'].stderr[-3000:]
    import json
    metrics = json.loads((tmp_path / 'm.json').read_text())
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert out['dist'].returncode == 0, out['dist'].stderr[-3000:]
    log = out['dist'].stdout + out['dist'].stderr
    assert 'GPU number: 2' in log and f"accuracy/top1: {metrics['accuracy/top1']:.4f}" in log


def test_publish_model_strips_resume_state_and_names_the_hash(root, tmp_path, saip_backbone):
    import hashlib
    sys.path.insert(0, osp.join(root, 'tools', 'model_converters'))
    from publish_model import main as publish
    from saip2backbone import main as export
    src = osp.join(osp.dirname(saip_backbone[0]), 'saip.pth')
    ckpt = torch.load(src)
    ckpt.update(optimizer=dict(state={}, param_groups=[dict(lr=1e-3, params=[0])]),
                message_hub=dict(log_scalars={}), param_schedulers=[dict(last_epoch=3)])
    torch.save(ckpt, tmp_path / 'iter_3.pth')
    out = publish([str(tmp_path / 'iter_3.pth'), str(tmp_path / 'release' / 'saip_demo.pth')])
    digest = hashlib.sha256(open(out, 'rb').read()).hexdigest()
    assert osp.basename(out) == f'saip_demo-{digest[:8]}.pth'
    published = torch.load(out, weights_only=True)
    assert set(published) == {'meta', 'state_dict'}
    state = published['state_dict']
    assert all(torch.equal(state[k], v) if torch.is_tensor(v) else state[k] == v  # the step counters: ints
               for k, v in ckpt['state_dict'].items())
    # still a SAIP checkpoint for the exporter
    assert 'backbone.pos_embed' in export([out, str(tmp_path / 'b.pth')])


def test_slurm_scripts_pass_config_checkpoint_and_launcher(root, tmp_path):
    """The srun command line the Slurm scripts assemble (srun itself is not on this machine: a
    script in its place records the arguments)."""
    (tmp_path / 'srun').write_text('#!/bin/sh\necho "$@" > "$SRUN_LOG"\n')
    (tmp_path / 'srun').chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}", GPUS='4',
               GPUS_PER_NODE='4', SRUN_LOG=str(tmp_path / 'args'))
    subprocess.run(['bash', 'tools/slurm_test.sh', 'p1', 'job', 'cfg.py', 'ckpt.pth', '--out', 'r.pkl'],
                   cwd=root, env=env, check=True, timeout=60)
    args = (tmp_path / 'args').read_text().split()
    assert args[:2] == ['-p', 'p1'] and '--ntasks=4' in args and '--job-name=job' in args
    assert args[args.index('-u') + 1:] == [osp.join(root, 'tools', 'test.py'), 'cfg.py', 'ckpt.pth', '--out',
                                          'r.pkl', '--launcher=slurm']
    subprocess.run(['bash', 'tools/slurm_train.sh', 'p1', 'job', 'cfg.py'], cwd=root, env=env, check=True,
                   timeout=60)
    args = (tmp_path / 'args').read_text().split()
    assert args[args.index('-u') + 1:] == [osp.join(root, 'tools', 'train.py'), 'cfg.py',
                                          '--work-dir=work_dirs/job', '--launcher=slurm']


def test_offline_wheels_pin_the_stack_as_the_install_does(root, tmp_path):
    """tools/misc/offline_wheels.sh --list: the OpenMMLab stack a registry-less GPU node lacks, each at
    the version requirements/constraints.txt pins (one owner); a name without a pin is refused."""
    out = subprocess.run(['bash', osp.join(root, 'tools/misc/offline_wheels.sh'), '--list'],
                         capture_output=True, text=True, check=True).stdout.split()
    with open(osp.join(root, 'requirements/constraints.txt')) as f:
        pins = {line.split('==')[0].lower().replace('_', '-'): line.strip() for line in f if '==' in line}
    listed = {spec.split('==')[0].lower().replace('_', '-'): spec for spec in out}
    assert {'mmengine', 'mmpretrain', 'mmpose', 'mmdet', 'mmsegmentation', 'pycocotools'} <= set(listed)
    assert all(pins[name] == spec for name, spec in listed.items())
    lacking = tmp_path / 'constraints.txt'
    lacking.write_text(''.join(p + '\n' for name, p in pins.items() if name != 'mmdet'))
    broken = subprocess.run(['bash', osp.join(root, 'tools/misc/offline_wheels.sh'), '--list'],
                            capture_output=True, text=True,
                            env=dict(os.environ, SAIP_CONSTRAINTS=str(lacking)))
    assert broken.returncode == 1 and f"mmdet has no '==' pin in {lacking}" in broken.stderr
    # no interpreter of the asked version to build mmcv with: refused before anything is written
    out = tmp_path / 'wheels'
    nopy = subprocess.run(['bash', osp.join(root, 'tools/misc/offline_wheels.sh'), str(out), '3.12'],
                          capture_output=True, text=True, env=dict(os.environ, SAIP_PYTHON=sys.executable))
    assert nopy.returncode == 1 and "no Python 3.12 as " in nopy.stderr and 'SAIP_PYTHON' in nopy.stderr
    assert not out.exists()


def test_device_session_refuses_what_it_cannot_run(root, tmp_path):
    """tools/misc/device_session.sh (the one call of a lent GPU machine) names what is missing in one
    line before it installs or runs anything: a budget too small for its steps, no $OUT folder, no kit."""
    script = osp.join(root, 'tools/misc/device_session.sh')

    def run(*args, cwd=root, **env):
        return subprocess.run(['bash', script, *args], capture_output=True, text=True, cwd=cwd,
                              env=dict(os.environ, **env))
    small = run('100', OUT=str(tmp_path))
    assert small.returncode == 1 and "SECONDS must be a whole number >= 240, got '100'" in small.stderr
    no_out = run(OUT=str(tmp_path / 'missing'))
    assert no_out.returncode == 1 and 'OUT must name an existing folder' in no_out.stderr
    (tmp_path / 'out').mkdir()
    no_kit = run(OUT=str(tmp_path / 'out'), cwd=str(tmp_path))  # a checkout without .whl/
    assert no_kit.returncode == 1 and 'no wheels in .whl/' in no_kit.stderr
    assert all(len(r.stderr.strip().splitlines()) == 1 for r in (small, no_out, no_kit))
    assert os.listdir(tmp_path / 'out') == []  # nothing written
