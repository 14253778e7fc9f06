# PA100K in its released layout: data/PA100k/{data/*.jpg, annotation.mat} (26 attributes;
# 80,000 / 10,000 / 10,000 images for train / val / test).
_base_ = ['../../_base_/dataloaders.py']
dataset_type = 'saip_mm.PA100KDataset'
data_root = 'data/PA100k/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256)),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    _base_.train_loader, batch_size=64,
    dataset=dict(type=dataset_type, data_root=data_root, split='trainval', pipeline=train_pipeline))
val_dataloader = dict(
    _base_.test_loader, batch_size=128,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='saip_mm.AttributeMetric', thr=0.5)
test_evaluator = val_evaluator
