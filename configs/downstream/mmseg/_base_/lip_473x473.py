# LIP body-part parsing (20 classes, background = 0) in mmseg's LIPDataset layout:
#   data/LIP/{train_images,val_images}/*.jpg and {train_segmentations,val_segmentations}/*.png
# mmseg ships the dataset class but no dataset config; the augmentation follows SCHP (473x473 crops,
# scale 0.5-1.5, horizontal flip that swaps left/right part labels).
_base_ = ['../../_base_/dataloaders.py']
dataset_type = 'LIPDataset'
data_root = 'data/LIP/'
crop_size = (473, 473)
lip_flip_pairs = [[14, 15], [16, 17], [18, 19]]  # arms, legs, shoes
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5, swap_seg_labels=lip_flip_pairs),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
lip_split = dict(type=dataset_type, data_root=data_root)
train_dataloader = dict(
    _base_.infinite_train_loader, batch_size=4,
    dataset=dict(lip_split, data_prefix=dict(img_path='train_images', seg_map_path='train_segmentations'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    _base_.test_loader, batch_size=1,
    dataset=dict(lip_split, data_prefix=dict(img_path='val_images', seg_map_path='val_segmentations'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
