# DINO on ViT-Tiny with SAIP's data and schedule (8 GPUs x 256 images, 300 epochs, AdamW lr 2.5e-4 per
# 256 images, gradient clipping at 3, AMP): the paper's DINO baseline under one protocol.
#   tools/dist_train.sh configs/baselines/dino/dino_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['../../pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', './_base_/dino.py']

model = _base_.dino_warmup_model
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.dino_hooks + [_base_.milestone_checkpoint]
