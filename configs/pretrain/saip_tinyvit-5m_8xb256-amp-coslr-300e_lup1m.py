# SAIP with a TinyViT-5M student (hybrid: MBConv stage + windowed attention, 5.07 M parameters without
# the classifier) on LUP1M, paper settings otherwise. mmpretrain's TinyViT, with stage grids set from
# each input size (SAIPTinyViT); the token adapter takes stage 1 (stride 16, 160 channels) as patch
# tokens and pooled stage 3 (stride 32, 320 channels) as the global token, both projected to 192.
#   tools/dist_train.sh configs/pretrain/saip_tinyvit-5m_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = './saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='TokenAdapter',
        encoder=dict(type='SAIPTinyViT', arch='5m', img_size=(256, 128), out_indices=(1, 3),
                     drop_path_rate=0.0),
        patch_channels=160,
        global_channels=320,
        embed_dims=192,
        patch_index=0))
