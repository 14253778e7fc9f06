# CPU demo of the DINO baseline: the SAIP CPU demo's data, schedule and retrieval validation, DINO's
# objective (the demo's 4096-prototype projector).
#   python tools/train.py configs/baselines/dino/dino_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../../pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/dino.py']

model = _base_.dino_demo_model
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.dino_demo_hooks
