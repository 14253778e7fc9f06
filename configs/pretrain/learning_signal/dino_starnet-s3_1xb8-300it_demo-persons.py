# The DINO baseline on StarNet-S3 at the learning-signal budget (docs/results.md): the ViT-Tiny
# learning-signal run with the student of configs/baselines/dino/dino_starnet-s3_*, the reference for
# SOLIDER on the same student.
#   python tools/train.py configs/pretrain/learning_signal/dino_starnet-s3_1xb8-300it_demo-persons.py
_base_ = ['../../baselines/dino/dino_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/schedule_300it.py',
          '../_base_/models/students.py']

param_scheduler = _base_.ls_param_scheduler
train_cfg = _base_.ls_train_cfg
default_hooks = dict(checkpoint=_base_.ls_checkpoint)

model = dict(backbone=_base_.starnet_s3_student)
