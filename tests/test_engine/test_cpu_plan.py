"""The main process's threads and the dataloader workers from the cores (issue 28, item 3)."""
import pytest
from mmengine.config import Config

from saip_mm.utils.launcher import plan_cpu


def _cfg(workers='auto'):
    return Config(dict(train_dataloader=dict(num_workers=workers, persistent_workers=False)))


def test_gpu_node_leaves_most_cores_to_the_workers(monkeypatch):
    monkeypatch.delenv('SAIP_MAIN_THREADS', raising=False)
    cfg = _cfg()
    plan = plan_cpu(cfg, cores=16, local_procs=1, cuda=True)
    assert plan == dict(cores=16, share=16, main_threads=4, workers=12)
    assert cfg.train_dataloader.num_workers == 12 and cfg.train_dataloader.persistent_workers
    # 8 GPUs on 64 cores: 8 each, 2 for the main process, 6 workers
    assert plan_cpu(_cfg(), cores=64, local_procs=8, cuda=True)['workers'] == 6
    assert plan_cpu(_cfg(), cores=64, local_procs=8, cuda=True)['main_threads'] == 2


def test_cpu_training_keeps_its_cores_and_overrides_win(monkeypatch):
    monkeypatch.delenv('SAIP_MAIN_THREADS', raising=False)
    cfg = _cfg()
    plan = plan_cpu(cfg, cores=2, local_procs=1, cuda=False)
    assert plan == dict(cores=2, share=2, main_threads=2, workers=0)
    fixed = _cfg(workers=3)  # a number in the config (or --cfg-options) stays
    assert plan_cpu(fixed, cores=16, local_procs=1, cuda=True)['workers'] == 3
    monkeypatch.setenv('SAIP_MAIN_THREADS', '6')
    assert plan_cpu(_cfg(), cores=16, local_procs=1, cuda=True)['main_threads'] == 6
    assert plan_cpu(_cfg(), cores=16, local_procs=1, cuda=True)['workers'] == 10


def test_a_launch_resolves_the_paper_preset_s_automatic_workers(root):
    import os.path as osp

    import torch

    from saip_mm.utils.launcher import prepare_runtime
    cfg = Config.fromfile(osp.join(root, 'configs/pretrain/saip_vit-tiny_lup1m.py'))
    assert cfg.train_dataloader.num_workers == 'auto'
    cfg.launcher = 'none'
    with pytest.warns(UserWarning):  # no CUDA here: the AMP wrapper falls back
        prepare_runtime(cfg)
    expected = plan_cpu(Config(dict()), cuda=torch.cuda.is_available())
    assert isinstance(cfg.train_dataloader.num_workers, int)
    assert torch.get_num_threads() == expected['main_threads']
    torch.set_num_threads(2)
