# PersonViT on ViT-Tiny with SAIP's data and schedule (the DINO baseline's crops, hooks and schedule:
# 8 GPUs x 256 images, 300 epochs, AdamW lr 2.5e-4 per 256 images, clipping at 3, AMP).
#   tools/dist_train.sh configs/baselines/personvit/personvit_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['../dino/dino_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', './_base_/personvit.py']

model = _base_.personvit_model
model.mim.head.teacher_temp = _base_.dino_teacher_temp  # warmed up as the CSM head's (iBOT)
