# The SOLIDER baseline at the learning-signal budget (docs/results.md): its CPU demo for 300 iterations,
# the schedule and retrieval validation of the SAIP 300-iteration run.
#   python tools/train.py configs/pretrain/learning_signal/solider_vit-tiny-p16_1xb8-300it_demo-persons.py
_base_ = ['../../baselines/solider/solider_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/schedule_300it.py']

param_scheduler = _base_.ls_param_scheduler
train_cfg = _base_.ls_train_cfg
default_hooks = dict(checkpoint=_base_.ls_checkpoint)
