# SAIP TinyViT-5M on LUP1M: the documented entry point, exactly the paper preset
# saip_tinyvit-5m_8xb256-amp-coslr-300e_lup1m.py
# (8 GPUs x 256 images, 300 epochs, AMP). Data in data/LUP1M (docs/pretraining.md, "Person data").
#   tools/dist_train.sh configs/pretrain/saip_tinyvit-5m_lup1m.py 8
#   mim train saip_mm saip_tinyvit-5m_lup1m --gpus 8 --launcher pytorch
_base_ = ['./saip_tinyvit-5m_8xb256-amp-coslr-300e_lup1m.py']
