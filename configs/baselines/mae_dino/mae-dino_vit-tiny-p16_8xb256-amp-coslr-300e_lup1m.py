# MAE+DINO (the SAIP paper's combined baseline): DINO's loss on its multi-crop views plus MAE's on a
# masked copy of the second global crop, summed, on one student, with SAIP's data and schedule (8 GPUs x
# 256 images, 300 epochs, AdamW lr 2.5e-4 per 256 images, clipping at 3, AMP).
#   tools/dist_train.sh configs/baselines/mae_dino/mae-dino_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['../../pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', '../dino/_base_/dino.py',
          '../mae/_base_/mae.py']

model = dict(_base_.dino_warmup_model, csr=_base_.mae_dino_csr)
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.dino_hooks + [_base_.milestone_checkpoint]
