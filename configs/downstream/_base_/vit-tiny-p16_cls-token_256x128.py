# The SAIP ViT-Tiny backbone at its pretraining size (256x128, no position-embedding resize) giving the
# final-norm class token: the person-level feature of the ReID and attribute configs.
custom_imports = dict(
    imports=['saip_mm.models', 'saip_mm.datasets', 'saip_mm.evaluation'], allow_failed_imports=False)
pretrained = 'work_dirs/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m/saip_vit-tiny_backbone.pth'
model = dict(
    backbone=dict(
        type='saip_mm.SAIPViT',
        arch='deit-tiny',
        img_size=(256, 128),
        patch_size=16,
        qkv_bias=True,
        drop_path_rate=0.1,
        out_type='cls_token',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=None)
