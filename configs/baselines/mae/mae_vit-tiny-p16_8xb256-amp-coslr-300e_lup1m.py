# MAE on ViT-Tiny with SAIP's data and schedule (8 GPUs x 256 images, 300 epochs, AdamW lr 2.5e-4 per
# 256 images, AMP): the paper's MAE baseline under one protocol.
#   tools/dist_train.sh configs/baselines/mae/mae_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['../../pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', './_base_/mae.py']

model = _base_.mae_model
train_dataloader = dict(dataset=dict(pipeline=[dict(_base_.person_crop, **_base_.mae_crop)]
                                     + _base_.mae_flip_pack))
custom_hooks = _base_.mae_hooks + [_base_.milestone_checkpoint]
