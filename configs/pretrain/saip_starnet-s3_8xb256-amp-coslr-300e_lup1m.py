# SAIP with a StarNet-S3 student (ConvNet, 5.5 M parameters without the classifier) on LUP1M, paper
# settings otherwise; the student and its token adapter: _base_/models/students.py.
#   tools/dist_train.sh configs/pretrain/saip_starnet-s3_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['./saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', './_base_/models/students.py']

model = dict(backbone=_base_.starnet_s3_student)
