# CPU demo of the SOLIDER baseline: the DINO CPU demo (dino/_base_/dino.py: its demo model, crops and
# hooks, on the SAIP CPU demo) plus the semantic controller and token classification.
#   python tools/train.py configs/baselines/solider/solider_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../../pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py', '../dino/_base_/dino.py',
          './_base_/solider.py']

model = _base_.solider_model
model.update(_base_.dino_demo_model)
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.dino_demo_hooks
