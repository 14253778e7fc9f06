"""Each shim of saip_mm.compat is needed: without it, the behaviour it fixes breaks."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from cfg_paths import DEMO_CFG
from mmengine.logging import HistoryBuffer, MessageHub

from saip_mm import compat


def _runner_like_checkpoint(path):
    hub = MessageHub.get_instance('compat-test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', 1.25)
    hub.update_info('iter', 3)
    torch.save(dict(meta=dict(seed=0, iter=3, hist=np.array([1, 2])), message_hub=hub.state_dict(),
                    state_dict={'w': torch.ones(2)}), path)


def test_runner_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    _runner_like_checkpoint(path)
    ckpt = torch.load(path, map_location='cpu')  # torch >= 2.6: weights_only=True by default
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(1.375) and buf.min() == 1.25


def test_safe_globals_shim_is_needed(tmp_path):
    path = tmp_path / 'ckpt.pth'
    _runner_like_checkpoint(path)
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        # without the allow-list, torch's safe loader refuses the runner checkpoint
        with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer|numpy|ConfigDict'):
            torch.load(path, map_location='cpu')
    finally:
        torch.serialization.add_safe_globals(saved)


def test_history_buffer_pickle_has_no_getattr():
    buf = HistoryBuffer([1.0, 2.0], [1, 1])
    data = pickle.dumps(buf, protocol=2)
    assert b'getattr' not in data
    restored = pickle.loads(data)
    assert restored.mean() == pytest.approx(1.5) and restored.max() == 2.0
    # the stock __getstate__ pickles the statistics functions through getattr
    state = HistoryBuffer.__getstate__
    try:
        from mmengine.logging.history_buffer import HistoryBuffer as HB
        HB.__getstate__ = lambda self: (self.__dict__.update(
            statistics_methods=self._statistics_methods) or self.__dict__)
        assert b'getattr' in pickle.dumps(HistoryBuffer([1.0], [1]), protocol=2)
    finally:
        HistoryBuffer.__getstate__ = state


def test_version_check_names_the_fix(monkeypatch):
    import mmcv
    monkeypatch.setattr(mmcv, '__version__', '2.2.0')
    with pytest.raises(ImportError, match='tools/install.sh'):
        compat.check_versions()
    monkeypatch.setattr(mmcv, '__version__', '2.1.0')
    compat.check_versions()


def test_version_check_refuses_transformers_5(monkeypatch):
    import importlib.metadata
    real = importlib.metadata.version

    def version(name):
        return '5.17.0' if name == 'transformers' else real(name)

    monkeypatch.setattr(importlib.metadata, 'version', version)
    with pytest.raises(ImportError, match=r'transformers 5\.17\.0 .*pip install "transformers<5"'):
        compat.check_versions()

    def absent(name):
        if name == 'transformers':
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, 'version', absent)
    compat.check_versions()


def test_mmcv_compiled_ops():
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    feat = torch.arange(64.).view(1, 1, 8, 8)
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=1, aligned=False)(
        feat, torch.tensor([[0., 0., 0., 4., 4.]]))
    assert out.shape == (1, 1, 2, 2) and float(out[0, 0, 0, 0]) == pytest.approx(9.0)


@pytest.mark.slow
def test_mmpose_train_tool_resumes_with_only_custom_imports(root, tmp_path, saip_backbone):
    """mmpose's own tools/train.py (not ours: it never calls saip_mm's register_all_modules) trains a
    ViTPose config that pulls saip_mm in through `custom_imports`, then resumes from its checkpoint:
    the weights_only shim must apply on `import saip_mm.models`."""
    import os
    import subprocess
    import sys

    import mmpose
    train = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools', 'train.py')
    coco = osp.join(root, 'tests/data/mmpose_samples/coco')
    cfg = tmp_path / 'pose.py'
    cfg.write_text(f'''
_base_ = [{osp.join(root, 'configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py')!r}]
model = dict(backbone=dict(drop_path_rate=0.0, init_cfg=dict(checkpoint={saip_backbone[0]!r})))
_data = dict(data_root={coco + '/'!r}, ann_file='test_coco.json', data_prefix=dict(img=''), bbox_file=None)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(_data, indices=2))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=_data)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={osp.join(coco, 'test_coco.json')!r})
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=10)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, save_best=None))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
''')
    env = dict(os.environ, PYTHONPATH=root)
    work = str(tmp_path / 'work')
    first = subprocess.run([sys.executable, train, str(cfg), '--work-dir', work], cwd=str(tmp_path),
                           env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    second = subprocess.run([sys.executable, train, str(cfg), '--work-dir', work, '--resume',
                             '--cfg-options', 'train_cfg.max_epochs=2'], cwd=str(tmp_path), env=env,
                            capture_output=True, text=True, timeout=900)
    log = second.stdout + second.stderr
    assert second.returncode == 0, log[-4000:]
    assert 'resumed epoch: 1' in log and osp.isfile(osp.join(work, 'epoch_2.pth')), log[-3000:]


@pytest.mark.slow
def test_pillow_colour_notice_is_silenced_on_import(root):
    """In a fresh process (pytest resets warning filters per test): with ``import saip_mm`` mmcv's
    pillow colour notice is gone, without it the notice is printed."""
    import subprocess
    import sys
    code = ('import numpy as np, mmcv{}; '
            'mmcv.adjust_color(np.full((8, 8, 3), 100, np.uint8), 0.5, backend="pillow")')
    runs = {name: subprocess.run([sys.executable, '-c', code.format(extra)], cwd=root, capture_output=True,
                                 text=True, check=True).stderr
            for name, extra in (('with', ', saip_mm'), ('without', ''))}
    assert 'pillow backend' in runs['without']
    assert 'pillow backend' not in runs['with']


def test_a_config_is_formatted_once_then_remembered(monkeypatch):
    """``Config.pretty_text`` (asked for six times by a Runner) runs yapf once per top-level statement,
    and the text is the one yapf gives for the whole text without the shim."""
    import mmengine.config.config as config_module
    from mmengine.config import Config
    from yapf.yapflib.yapf_api import FormatCode
    marker = float(np.random.default_rng().random())  # statements no other test formats
    cfg = Config(dict(model=dict(type='Demo', widths=[64, 128, 256, 512], name=f'once{marker}'),
                      pipeline=[dict(type='Load'), dict(type='Pack', keys=('img', ) * 30)], marker=marker))
    before = compat.format_config_statement.cache_info()
    texts = [cfg.pretty_text for _ in range(3)]
    after = compat.format_config_statement.cache_info()
    assert after.misses - before.misses == 3 and after.hits - before.hits == 6  # 3 statements
    monkeypatch.setattr(config_module, 'FormatCode', FormatCode)  # mmengine as shipped
    assert texts == [cfg.pretty_text] * 3
    assert 'pipeline = [\n' in texts[0]  # a statement yapf splits over lines


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    DEMO_CFG, 'configs/downstream/mmdet/crowddet-rcnn_vit-tiny-p16_sfp_8xb2-30e_crowdhuman.py',
    'configs/baselines/solider/solider_vit-tiny-p16_1xb8-100it_demo-persons.py'])
def test_statement_by_statement_is_what_yapf_gives_for_the_whole_text(root, config, monkeypatch):
    """The shim's text equals yapf's on the whole text for shipped configs (all 91 were compared when
    it was written; a pretraining, a downstream and a baseline config here)."""
    import mmengine.config.config as config_module
    from mmengine.config import Config
    from yapf.yapflib.yapf_api import FormatCode
    cfg = Config.fromfile(osp.join(root, config))
    shim = cfg.pretty_text
    monkeypatch.setattr(config_module, 'FormatCode', FormatCode)
    assert shim == cfg.pretty_text


def test_external_bases_read_each_package_metafiles_once(monkeypatch):
    """A downstream config (``mmpose::`` bases) loads to the same dict as with mmengine's lookup, whose
    answers the shim gives for a model name and for a base path; loading it again reads no metafile."""
    import glob
    import os.path as osp

    import mmengine.config.utils as config_utils
    from mmengine.config import Config
    from mmengine.utils import get_installed_path
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    config = sorted(glob.glob(osp.join(root, 'configs/downstream/mmpose/*.py')))[0]
    shimmed = Config.fromfile(config).to_dict()
    reads = []
    load = config_utils.load
    monkeypatch.setattr(config_utils, 'load', lambda *a, **k: reads.append(a[0]) or load(*a, **k))
    assert Config.fromfile(config).to_dict() == shimmed and reads == []
    package = get_installed_path('mmpose')
    name = next(iter(compat.package_model_index(package)))
    monkeypatch.setattr(config_utils, '_get_cfg_metainfo', compat.MMENGINE_CFG_METAINFO)  # as shipped
    assert Config.fromfile(config).to_dict() == shimmed and len(reads) > 10
    assert compat._indexed_cfg_metainfo(package, name) == compat.MMENGINE_CFG_METAINFO(package, name)
    for lookup in (compat._indexed_cfg_metainfo, compat.MMENGINE_CFG_METAINFO):
        with pytest.raises(ValueError, match='but got body_2d_keypoint/no_such_base'):
            lookup(package, 'body_2d_keypoint/no_such_base')


def test_hue_shift_is_numpy_ones_level_under_any_numpy():
    """mmcv 2.1's ``adjust_hue`` computes ``np.uint8(hue_factor * 255)``, which numpy 2 refuses for a
    negative factor; the shim hands it numpy 1's level (truncated, wrapped)."""
    for factor, level in ((-0.5, 129), (-0.076, 237), (-0.001, 0), (0.0, 0), (0.076, 19), (0.5, 127)):
        assert compat._WrappedHueFactor(factor) * 255 == level
    if np.lib.NumpyVersion(np.__version__) < '2.0.0':  # the level numpy 1 itself gives, on a grid
        for factor in np.linspace(-0.5, 0.5, 101):
            assert compat._WrappedHueFactor(factor) * 255 == np.uint8(factor * 255)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_mmcv_adjust_hue_takes_negative_factors(backend):
    import mmcv

    from saip_mm.datasets.transforms.cv2_photometric import adjust_hue as cv2_hue
    img = np.random.default_rng(0).integers(0, 256, (16, 8, 3), dtype=np.uint8)
    assert mmcv.adjust_hue is mmcv.image.photometric.adjust_hue  # what mmpretrain's ColorJitter calls
    original = mmcv.adjust_hue.__wrapped__
    for factor in (-0.5, -0.3, -0.076, 0.0, 0.076, 0.3, 0.5):
        out = mmcv.adjust_hue(img, factor, backend=backend)
        if backend == 'cv2':  # our own OpenCV hue (the code-faithful preset's), computed independently
            np.testing.assert_array_equal(out, cv2_hue(img, factor))
        if np.lib.NumpyVersion(np.__version__) < '2.0.0':  # mmcv's own under numpy 1
            np.testing.assert_array_equal(out, original(img, factor, backend=backend))
    assert (mmcv.adjust_hue(img, -0.3, backend=backend) != mmcv.adjust_hue(img, 0.3, backend=backend)).any()
    with pytest.raises(ValueError, match='hue_factor'):  # mmcv's range check still applies
        mmcv.adjust_hue(img, -0.6, backend=backend)
