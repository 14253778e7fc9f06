# SAIP with a StarNet-S3 student (ConvNet, 5.5 M parameters without the classifier) on LUP1M, paper
# settings otherwise. The token adapter gives the decoders 192-d tokens: the stride-16 map (stage 3,
# 128 channels) as patch tokens and the pooled stride-32 map (256 channels) as the global token; CSR
# masks at the input and re-masks every stage (saip_mm/models/backbones/token_adapter.py).
#   tools/dist_train.sh configs/pretrain/saip_starnet-s3_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = './saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='TokenAdapter',
        encoder=dict(type='StarNet', arch='s3', out_indices=(2, 3), drop_path_rate=0.0),
        patch_channels=128,
        global_channels=256,
        embed_dims=192,
        patch_index=0))
