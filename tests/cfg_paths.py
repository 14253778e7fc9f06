"""Paths the tests share: the repository root, the test data, and config files (relative to the root)."""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATA = osp.join(ROOT, 'tests', 'data')
DEMO_CFG = 'configs/pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py'
PAPER_CFG = 'configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
SHORT_VIT = 'configs/pretrain/saip_vit-tiny_lup1m.py'  # the README's literal config: the paper preset
OFFICIAL_CFG = 'configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m-official-code.py'
SMALL_PRETRAIN = {'starnet': 'configs/pretrain/saip_starnet-s3_8xb256-amp-coslr-300e_lup1m.py',
                  'tinyvit': 'configs/pretrain/saip_tinyvit-5m_8xb256-amp-coslr-300e_lup1m.py'}

# --cfg-options of a Runner test that does not test validation: no validation loop at all (mmengine's
# IterBasedTrainLoop validates at the last iteration whatever val_interval says; the demo's retrieval
# on two sets costs ~40 s per validation on 2 cores)
NO_VALIDATION = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
                 'default_hooks.checkpoint.save_best=None']

# a 4-block ViT-Tiny for tests that check plumbing rather than what the demo's 12 blocks learn (the
# CSR/CSS level `mid` reads block 1 of 4): every forward is ~3x cheaper
SMALL_VIT = dict(arch=dict(embed_dims=192, num_layers=4, num_heads=3, feedforward_channels=768), mid_index=1)


def small_vit_config(folder) -> str:
    """A config file in ``folder`` that is the demo config with :data:`SMALL_VIT` (for a command line:
    ``--cfg-options`` cannot turn the arch name into a dict); returns its path."""
    path = osp.join(str(folder), 'saip_vit-4blocks_demo-persons.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(ROOT, DEMO_CFG)!r}]\n"
                f"model = dict(backbone=dict(arch=dict(_delete_=True, **{SMALL_VIT['arch']!r}), "
                f"mid_index={SMALL_VIT['mid_index']}))\n")
    return path
