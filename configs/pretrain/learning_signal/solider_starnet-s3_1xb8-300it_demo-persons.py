# The SOLIDER baseline on StarNet-S3 at the learning-signal budget (docs/results.md): the ViT-Tiny
# learning-signal run with the student of configs/baselines/solider/solider_starnet-s3_*.
#   python tools/train.py configs/pretrain/learning_signal/solider_starnet-s3_1xb8-300it_demo-persons.py
_base_ = ['../../baselines/solider/solider_vit-tiny-p16_1xb8-100it_demo-persons.py',
          './_base_/schedule_300it.py', '../_base_/models/students.py']

param_scheduler = _base_.ls_param_scheduler
train_cfg = _base_.ls_train_cfg
default_hooks = dict(checkpoint=_base_.ls_checkpoint)

model = dict(backbone=dict(_base_.starnet_s3_student, mid='pre_norm',
                           encoder=dict(_base_.starnet_s3_student.encoder,
                                        semantic_weight=_base_.model.backbone.semantic_weight)))
