# Learning-signal budget (docs/results.md): the CPU demo preset for 300 iterations, retrieval on
# demo/vtest_reid at iterations 0, 100, 200 and 300.
#   python tools/train.py configs/pretrain/learning_signal/saip_vit-tiny-p16_1xb8-300it_demo-persons.py
_base_ = ['../saip_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/schedule_300it.py']

param_scheduler = _base_.ls_param_scheduler
train_cfg = _base_.ls_train_cfg
default_hooks = dict(checkpoint=_base_.ls_checkpoint)
