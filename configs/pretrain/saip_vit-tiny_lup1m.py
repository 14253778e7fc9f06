# SAIP ViT-Tiny on LUP1M, paper settings: 8 GPUs x 256 images, 300 epochs, AMP.
#   tools/dist_train.sh configs/pretrain/saip_vit-tiny_lup1m.py 8
_base_ = [
    './_base_/models/saip_vit-tiny.py',
    './_base_/datasets/lup1m.py',
    './_base_/schedules/adamw_300e.py',
    './_base_/default_runtime.py',
]
