# A frozen ViT-Base expert (SAIP*; the paper used PATH). Any checkpoint that mmpretrain's
# VisionTransformer (arch 'b') loads works: tensors under `backbone.` (set `prefix` otherwise), a
# 14x14 (224) or 16x8 (256x128) position grid. Convert a PATH / timm checkpoint to mmpretrain names
# first (mmpretrain's tools/model_converters/vit2mmpretrain.py).
expert_vit_base = dict(
    type='ExternalExpert',
    encoder=dict(type='SAIPViT', arch='b', img_size=(256, 128), patch_size=16, mid_index=7),
    checkpoint='checkpoints/expert_vit-base.pth',
    prefix='backbone.',
    out_channels=192)
