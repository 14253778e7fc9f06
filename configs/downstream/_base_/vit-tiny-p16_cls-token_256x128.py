# The SAIP ViT-Tiny backbone at its pretraining size (256x128, no position-embedding resize) giving the
# final-norm class token: the person-level feature of the ReID and attribute configs.
_base_ = ['./vit-tiny-p16.py']
custom_imports = dict(
    imports=['saip_mm.models', 'saip_mm.datasets', 'saip_mm.evaluation'], allow_failed_imports=False)
model = dict(backbone=dict(**_base_.vit_tiny_p16, img_size=(256, 128), out_type='cls_token'), neck=None)
