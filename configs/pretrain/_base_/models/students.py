# The hierarchical students, as named values that replace a config's ViT-Tiny backbone:
#   model = dict(backbone=_base_.starnet_s3_student)
# The token adapter gives the decoders 192-d tokens (saip_mm/models/backbones/token_adapter.py): a
# stride-16 map as patch tokens and the pooled stride-32 map as the global token; masked patches are
# blanked at the input and every stage is re-masked.

# StarNet-S3 (ConvNet, 5.5 M parameters without the classifier): stage 3 (stride 16, 128 channels) and
# stage 4 (stride 32, 256 channels)
starnet_s3_student = dict(
    _delete_=True,
    type='TokenAdapter',
    encoder=dict(type='StarNet', arch='s3', out_indices=(2, 3), drop_path_rate=0.0),
    patch_channels=128,
    global_channels=256,
    embed_dims=192,
    patch_index=0)
# TinyViT-5M (hybrid: MBConv stage + windowed attention, 5.07 M parameters without the classifier):
# mmpretrain's TinyViT with stage grids set from each input size (SAIPTinyViT); stage 1 (stride 16,
# 160 channels) and stage 3 (stride 32, 320 channels)
tinyvit_5m_student = dict(
    _delete_=True,
    type='TokenAdapter',
    encoder=dict(type='SAIPTinyViT', arch='5m', img_size=(256, 128), out_indices=(1, 3),
                 drop_path_rate=0.0),
    patch_channels=160,
    global_channels=320,
    embed_dims=192,
    patch_index=0)
