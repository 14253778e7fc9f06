# LUP1M person crops (1 M crops of LUPerson) at data/LUP1M: anchor 256x128 + 224x224 canvas.
dataset_type = 'PersonCropDataset'
data_root = 'data/LUP1M'

train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1),
    dict(type='Resize', scale=(128, 256), keep_ratio=False, interpolation='bicubic'),
    dict(type='CopyPasteCanvas', canvas_size=(224, 224), max_instances=3, min_instances=1,
         height_range=(0.4, 0.9), allow_overlap=True, alpha=1.0),
    dict(type='BoxMaskTarget', patch_size=16),
    dict(type='PackSAIPInputs'),
]

train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, num_mix=2, pipeline=train_pipeline),
)
