# Learning-signal budget (docs/results.md): the CPU demo preset for 300 iterations, retrieval on
# demo/vtest_reid at iterations 0, 100, 200 and 300.
#   python tools/train.py configs/pretrain/learning_signal/saip_vit-tiny-p16_1xb8-300it_demo-persons.py
_base_ = '../saip_vit-tiny-p16_1xb8-100it_demo-persons.py'

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', T_max=270, eta_min=1e-5, by_epoch=False, begin=30, end=300),
]
train_cfg = dict(max_iters=300, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=100))
