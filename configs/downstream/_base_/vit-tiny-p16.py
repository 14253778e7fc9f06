# The SAIP ViT-Tiny backbone, written once for every downstream family (any ViT-Tiny checkpoint fits,
# a baseline's included). Children read these through `_base_` and add what their task needs:
#   `vit_tiny_p16`          the student at its pretraining build (class token kept);
#   `vit_tiny_p16_featmap`  its patch-token map for dense tasks at any input size, the position table
#                           resized from the 16x8 pretraining grid;
#   `vit_no_decay`          AdamW `custom_keys` without weight decay on the position table, the class
#                           token and the LayerNorms (mmpretrain's ViT names them ln1/ln2).
vit_tiny_p16 = dict(
    type='saip_mm.SAIPViT',
    arch='deit-tiny',
    patch_size=16,
    qkv_bias=True,
    drop_path_rate=0.1,
    init_cfg=dict(type='Pretrained',
                  checkpoint='work_dirs/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m/saip_vit-tiny_backbone.pth',
                  prefix='backbone.'))
vit_tiny_p16_featmap = dict(vit_tiny_p16, with_cls_token=False, out_type='featmap', pretrained_grid=(16, 8))
vit_no_decay = {
    'pos_embed': dict(decay_mult=0.),
    'cls_token': dict(decay_mult=0.),
    'ln': dict(decay_mult=0.),
}
