# CPU demo of the MAE baseline: the SAIP CPU demo's data, schedule, decoder size and retrieval
# validation, MAE's objective.
#   python tools/train.py configs/baselines/mae/mae_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../../pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/mae.py']

model = _base_.mae_model
train_dataloader = dict(dataset=dict(pipeline=[dict(_base_.person_crop, **_base_.mae_crop)]
                                     + _base_.mae_flip_pack))
custom_hooks = _base_.mae_demo_hooks
