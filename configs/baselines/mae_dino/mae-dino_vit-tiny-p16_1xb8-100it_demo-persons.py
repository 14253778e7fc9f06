# CPU demo of the MAE+DINO baseline: the SAIP CPU demo's data, schedule, decoder size and retrieval
# validation; DINO's crops and hooks; MAE's loss on the second global crop.
#   python tools/train.py configs/baselines/mae_dino/mae-dino_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../../pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py', '../dino/_base_/dino.py',
          '../mae/_base_/mae.py']

model = dict(_base_.dino_demo_model, csr=_base_.mae_dino_csr)
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.dino_demo_hooks
