import os
import os.path as osp
import signal
import sys

import pytest
from cfg_paths import DATA, DEMO_CFG, ROOT

sys.path.insert(0, ROOT)
DEMO = osp.join(ROOT, 'demo', 'persons')


@pytest.fixture(autouse=True, scope='session')
def _saip_scope():
    import torch
    torch.set_num_threads(2)
    from saip_mm.utils import register_all_modules
    register_all_modules(init_default_scope=True)


@pytest.fixture(autouse=True)
def _sigchld_as_before():
    """A test whose DataLoader had workers leaves torch's SIGCHLD handler installed in this process
    (torch.utils.data._utils.signal_handling sets it once and never removes it); with it, the INT8
    quantization of tests/test_deployment segfaulted in a later test (reproduced on 2026-12-04 with any
    DataLoader with workers before test_convert and test_int8_scheme). Each test ends with the handler
    it started with."""
    before = signal.getsignal(signal.SIGCHLD)
    yield
    if signal.getsignal(signal.SIGCHLD) is not before:
        signal.signal(signal.SIGCHLD, before)


@pytest.fixture(scope='session')
def root() -> str:
    return ROOT


@pytest.fixture(scope='session')
def demo_root() -> str:
    assert osp.isfile(osp.join(DEMO, 'list.txt')), 'the embedded demo person set is missing'
    return DEMO


@pytest.fixture(scope='session')
def person_images(demo_root):
    """A few real person crops (BGR uint8) from the embedded demo set."""
    import mmcv
    with open(osp.join(demo_root, 'list.txt')) as f:
        paths = [line.split()[0] for line in f if line.strip()]
    step = max(1, len(paths) // 8)
    return [mmcv.imread(osp.join(demo_root, p)) for p in paths[::step][:8]]


@pytest.fixture(scope='session')
def background_image(demo_root):
    import mmcv
    bg_dir = osp.join(demo_root, 'backgrounds')
    return mmcv.imread(osp.join(bg_dir, sorted(os.listdir(bg_dir))[0]))


@pytest.fixture(scope='session')
def saip_backbone(tmp_path_factory):
    """A backbone exported by tools/model_converters/saip2backbone.py from a SAIP checkpoint (randomly
    initialised SAIP, saved as the Runner saves), and the SAIP state dict it came from."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from saip_mm.registry import MODELS
    sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))
    from saip2backbone import main as export
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    out = tmp_path_factory.mktemp('saip')
    torch.save(dict(meta=dict(iter=0), state_dict=model.state_dict()), out / 'saip.pth')
    export([str(out / 'saip.pth'), str(out / 'backbone.pth')])
    return str(out / 'backbone.pth'), model.backbone.state_dict()


@pytest.fixture(scope='session')
def downstream_samples(tmp_path_factory) -> str:
    """LIP, CrowdHuman, Market-1501 and PA100K layouts derived from the real COCO samples by
    tools/misc/make_downstream_samples.py."""
    sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
    from make_downstream_samples import main as make
    out = tmp_path_factory.mktemp('downstream')
    coco = osp.join(DATA, 'mmpose_samples', 'coco')
    make([osp.join(coco, 'test_coco.json'), coco, str(out)])
    return str(out)
