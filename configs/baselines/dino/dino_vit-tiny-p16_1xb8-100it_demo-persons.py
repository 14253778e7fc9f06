# CPU demo of the DINO baseline: the SAIP CPU demo's data, schedule and retrieval validation, DINO's
# objective (the demo's 4096-prototype projector).
#   python tools/train.py configs/baselines/dino/dino_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../../pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/dino.py']

model = _base_.dino_model
crop_augs = [_base_.global1_aug, _base_.global2_aug, _base_.local_aug]
train_dataloader = dict(dataset=dict(pipeline=[dict(**_base_.dino_multiview, transforms=crop_augs)]
                                     + _base_.dino_pack))
custom_hooks = _base_.dino_demo_hooks
