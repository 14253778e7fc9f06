"""Every method's losses on a fixed batch: the record that a refactor must reproduce.

``fixed_batch_losses(config)`` builds the config's model (initialised from its seed) and two real
training samples of its pipeline (all random draws seeded), and returns the logged terms of two loss
calls with an expert update between (step 0 and step 1). ``tests/data/method_losses.json`` holds them as
computed by the tree named in its ``commit``; ``python tests/method_losses.py`` writes it anew.
"""
import json
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

import torch
from cfg_paths import DATA, DEMO_CFG, OFFICIAL_CFG, ROOT

RECORD = osp.join(DATA, 'method_losses.json')
LS = 'configs/pretrain/learning_signal/'
# one config per method (and per distinct loss path: the code-faithful views, KoLeo, a TokenAdapter student)
METHOD_CONFIGS = {
    'saip': DEMO_CFG,
    'saip-code-faithful': OFFICIAL_CFG,
    'saip-sk-koleo': LS + 'saip-sk-koleo_vit-tiny-p16_1xb8-300it_demo-persons.py',
    'dino': 'configs/baselines/dino/dino_vit-tiny-p16_1xb8-100it_demo-persons.py',
    'mae': 'configs/baselines/mae/mae_vit-tiny-p16_1xb8-100it_demo-persons.py',
    'mae-dino': 'configs/baselines/mae_dino/mae-dino_vit-tiny-p16_1xb8-100it_demo-persons.py',
    'hap': 'configs/baselines/hap/hap_vit-tiny-p16_1xb8-100it_demo-persons.py',
    'personvit': 'configs/baselines/personvit/personvit_vit-tiny-p16_1xb8-100it_demo-persons.py',
    'solider': 'configs/baselines/solider/solider_vit-tiny-p16_1xb8-100it_demo-persons.py',
    'solider-starnet': LS + 'solider_starnet-s3_1xb8-300it_demo-persons.py',
}


def fixed_batch_losses(config: str, batch_size: int = 2, steps: int = 2,
                       model: Optional[dict] = None) -> List[Dict[str, float]]:
    """The logged terms of ``steps`` loss calls of ``config``'s model on one fixed batch.

    Args:
        config (str): A pretraining config, relative to the repository root.
        batch_size (int): Training samples in the batch (the first of the dataset, seeded draws).
        steps (int): Loss calls, each followed by an expert update.
        model (dict, optional): Another model config for the same data (default: the config's).

    Returns:
        list[dict]: Per step, every term the loss returns, as floats.
    """
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.runner import set_random_seed

    from saip_mm.engine.hooks import resolve_schedules
    from saip_mm.registry import DATASETS, MODELS
    from saip_mm.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, config))
    set_random_seed(0)
    model = MODELS.build(model or cfg.model)
    model.init_weights()
    resolve_schedules(model, 100, 100)  # an epoch and the run: 100 steps
    data = cfg.train_dataloader.dataset
    if not osp.isdir(osp.join(ROOT, data.data_root)):  # a preset's LUP1M: the embedded person crops
        data.update(data_root=osp.join(ROOT, 'demo/persons'), ann_file='list.txt',
                    background_dir='backgrounds')
    dataset = DATASETS.build(data)
    set_random_seed(0)
    batch = model.data_preprocessor(pseudo_collate([dataset[i] for i in range(batch_size)]), True)
    out = []
    for _ in range(steps):
        losses = model.loss(batch['inputs'], batch['data_samples'])
        out.append({k: float(v.detach().float().mean()) for k, v in sorted(losses.items())})
        model.update_expert()
    return out


def record() -> None:
    """Write ``RECORD`` from this tree (its commit named)."""
    torch.set_num_threads(2)
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    losses = {name: fixed_batch_losses(cfg) for name, cfg in METHOD_CONFIGS.items()}
    with open(RECORD, 'w') as f:
        json.dump(dict(commit=commit, losses=losses), f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    sys.path.insert(0, ROOT)  # this tree's saip_mm, not an installed one
    sys.exit(record())
