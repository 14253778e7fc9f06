# ViTPose with the SAIP ViT-Tiny backbone on COCO-WholeBody (133 keypoints) 256x192
# (paper appendix B: WholeBody AP 45.7 for SAIP ViT-Tiny). Same model and schedule as the COCO config.
_base_ = ['./td-hm_saip-vit-tiny_8xb64-210e_coco-256x192.py']

model = dict(head=dict(out_channels=133))
train_dataloader = dict(dataset=dict(
    type='CocoWholeBodyDataset', ann_file='annotations/coco_wholebody_train_v1.0.json'))
val_dataloader = dict(dataset=dict(
    type='CocoWholeBodyDataset', ann_file='annotations/coco_wholebody_val_v1.0.json'))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='CocoWholeBodyMetric',
    ann_file='data/coco/annotations/coco_wholebody_val_v1.0.json')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='coco-wholebody/AP'))
