# HAP with a StarNet-S3 student (through the token adapter), otherwise as on ViT-Tiny: the part-guided
# masks blank their 16x16 patches at the input and every stage is re-masked (TokenAdapter).
#   tools/dist_train.sh configs/baselines/hap/hap_starnet-s3_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['./hap_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', '../../pretrain/_base_/models/students.py']

model = dict(backbone=_base_.starnet_s3_student)
