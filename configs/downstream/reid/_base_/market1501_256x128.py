# Market-1501 in its released layout: data/Market-1501/{bounding_box_train,query,bounding_box_test}.
# Training batches are PK batches (16 identities x 4 images) drawn by mmdet's ReIDDataset sampler.
_base_ = ['../../_base_/dataloaders.py']
dataset_type = 'saip_mm.Market1501Dataset'
data_root = 'data/Market-1501/'
train_pipeline = [
    dict(
        type='TransformBroadcaster',
        share_random_params=False,
        transforms=[
            dict(type='LoadImageFromFile', to_float32=True),
            dict(type='Resize', scale=(128, 256), keep_ratio=False, clip_object_border=False),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        ]),
    dict(type='PackReIDInputs', meta_keys=('flip', 'flip_direction')),
]
test_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True),
    dict(type='Resize', scale=(128, 256), keep_ratio=False),
    dict(type='PackReIDInputs', meta_keys=('camid', 'is_query')),
]
train_dataloader = dict(
    _base_.infinite_train_loader, batch_size=1,  # one PK batch per item (the dataset's triplet sampler)
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 triplet_sampler=dict(num_ids=16, ins_per_id=4), pipeline=train_pipeline))
val_dataloader = dict(
    _base_.test_loader, batch_size=1,  # mmdet's BaseReID takes test batches of one (PackReIDInputs adds a leading dim)
    drop_last=False,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='saip_mm.ReIDRankMetric', ranks=(1, 5, 10))
test_evaluator = val_evaluator
