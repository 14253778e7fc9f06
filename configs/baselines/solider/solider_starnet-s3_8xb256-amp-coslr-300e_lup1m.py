# SOLIDER with a StarNet-S3 student (through the token adapter), otherwise as on ViT-Tiny. The semantic
# controller sits in the encoder, after each of its four stages (SOLIDER's placement on Swin), so it is
# exported with the encoder; the labels cluster the stride-16 stage's map before any LayerNorm
# (mid='pre_norm': a LayerNorm output has the same norm for every token, nothing for the foreground split).
#   tools/dist_train.sh configs/baselines/solider/solider_starnet-s3_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['./solider_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', '../../pretrain/_base_/models/students.py']

model = dict(backbone=dict(_base_.starnet_s3_student, mid='pre_norm',
                           encoder=dict(_base_.starnet_s3_student.encoder,
                                        semantic_weight=_base_.model.backbone.semantic_weight)))
