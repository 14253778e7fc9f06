# Market-1501 in its released layout: data/Market-1501/{bounding_box_train,query,bounding_box_test}.
# Training batches are PK batches (16 identities x 4 images) drawn by mmdet's ReIDDataset sampler.
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
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        triplet_sampler=dict(num_ids=16, ins_per_id=4),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,  # mmdet's BaseReID takes test batches of one (PackReIDInputs adds a leading dim)
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='saip_mm.ReIDRankMetric', ranks=(1, 5, 10))
test_evaluator = val_evaluator
