# PersonViT on ViT-Tiny with SAIP's data and schedule (the DINO baseline's crops, hooks and schedule:
# 8 GPUs x 256 images, 300 epochs, AdamW lr 2.5e-4 per 256 images, clipping at 3, AMP).
#   tools/dist_train.sh configs/baselines/personvit/personvit_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['../../pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', '../dino/_base_/dino.py',
          './_base_/personvit.py']

model = _base_.personvit_model
model.update(_base_.dino_warmup_model)
model.mim.head.teacher_temp = _base_.dino_teacher_temp  # warmed up as the CSM head's (iBOT)
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.dino_hooks + [_base_.milestone_checkpoint]
