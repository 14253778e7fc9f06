"""stack_collate (issue 28): a batch crosses from a dataloader worker as one tensor per field, and the
model sees the same batch as through pseudo_collate."""
import os.path as osp

import pytest
import torch
from cfg_paths import OFFICIAL_CFG, PAPER_CFG, ROOT
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS, DefaultScope
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement

from saip_mm.datasets import stack_collate
from saip_mm.registry import DATASETS, MODELS
from saip_mm.utils.dataloader import stop_workers


def tensors(data) -> int:
    """How many tensors ``data`` holds (each one a shared-memory segment between processes)."""
    if isinstance(data, torch.Tensor):
        return 1
    if isinstance(data, dict):
        return sum(tensors(v) for v in data.values())
    if isinstance(data, (list, tuple)):
        return sum(tensors(v) for v in data)
    return 0


def test_lists_of_one_shape_are_stacked_and_the_rest_kept():
    samples = [dict(inputs=dict(anchor=torch.full((3, 4, 2), i, dtype=torch.uint8),
                                views=[torch.full((3, 4, 2), 10 + i), torch.full((3, 2 + i, 2), 20 + i)],
                                target=torch.full((2, 2), float(i)), count=5 + i),
                    data_samples=BaseDataElement(metainfo=dict(idx=i))) for i in range(3)]
    batch = stack_collate(samples)
    inputs = batch['inputs']
    assert inputs['anchor'].shape == (3, 3, 4, 2) and inputs['anchor'][:, 0, 0, 0].tolist() == [0, 1, 2]
    assert inputs['target'].dtype == torch.float32 and inputs['target'][2].eq(2).all()
    assert inputs['views'][0].shape == (3, 3, 4, 2) and inputs['views'][0][1].eq(11).all()
    # the second view differs in height between samples: it stays a per-sample list
    second = inputs['views'][1]
    assert isinstance(second, (list, tuple)) and [v.shape[1] for v in second] == [2, 3, 4]
    assert inputs['count'] == [5, 6, 7]
    assert [s.idx for s in batch['data_samples']] == [0, 1, 2]
    # a dtype that differs between samples is not promoted either
    mixed = stack_collate([dict(x=torch.zeros(2, dtype=torch.uint8)), dict(x=torch.zeros(2))])
    assert isinstance(mixed['x'], (list, tuple))


def test_configs_name_it_in_a_scope_the_runner_finds():
    assert FUNCTIONS.get('saip_mm.stack_collate') is stack_collate
    cfg = Config.fromfile(osp.join(ROOT, PAPER_CFG))
    assert cfg.train_dataloader.collate_fn == dict(type='saip_mm.stack_collate')


@pytest.mark.parametrize('path', [PAPER_CFG, OFFICIAL_CFG], ids=['paper', 'official-code'])
def test_a_preset_batch_is_the_same_through_either_collate_and_crosses_as_few_tensors(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    cfg.train_dataloader.dataset.update(data_root=osp.join(ROOT, 'demo/persons'), ann_file='list.txt',
                                        background_dir='backgrounds')
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        pre_a = MODELS.build(cfg.model.data_preprocessor)
        pre_b = MODELS.build(cfg.model.data_preprocessor)
    samples = [dataset[i] for i in range(4)]
    loose, stacked = pseudo_collate(samples), stack_collate(samples)
    per_sample = tensors(samples[0]['inputs'])
    assert tensors(loose['inputs']) == 4 * per_sample
    assert tensors(stacked['inputs']) == per_sample  # one per field, whatever the batch
    a, b = pre_a(loose, True)['inputs'], pre_b(stacked, True)['inputs']  # the same seed: the same draws
    assert a.keys() == b.keys()
    for key in a:
        if key == 'mask_counts':
            assert a[key] == b[key]
            continue
        for x, y in zip(*((v if isinstance(v, list) else [v]) for v in (a[key], b[key]))):
            assert torch.equal(x, y), key


def test_the_runner_builds_it_and_a_worker_sends_the_stacked_batch():
    cfg = Config.fromfile(osp.join(ROOT, PAPER_CFG))
    loader_cfg = dict(cfg.train_dataloader, batch_size=3, num_workers=1, persistent_workers=False,
                      pin_memory=False, sampler=dict(type='DefaultSampler', shuffle=False))
    loader_cfg['dataset'] = dict(loader_cfg['dataset'], data_root=osp.join(ROOT, 'demo/persons'),
                                 ann_file='list.txt', background_dir='backgrounds')
    with DefaultScope.overwrite_default_scope('saip_mm'):
        iterator = iter(Runner.build_dataloader(loader_cfg, seed=0))
    batch = next(iterator)
    assert stop_workers(iterator) == 1  # its worker sent the batch, and ends here
    assert batch['inputs']['anchor'].shape == (3, 3, 256, 128)
    assert all(v.shape == (3, 3, 256, 128) for v in batch['inputs']['views'])
    assert len(batch['data_samples']) == 3
