# LUP1M person crops (1 M crops of LUPerson) at data/LUP1M.
# Paper §III-B + "other settings identical to DINO": DINO-style augmentations of the source crop
# (random-resized crop keeping the person aspect ratio, flip, colour jitter, grayscale, blur,
# solarize), all at 256x128: the anchor g1 (DINO's first global view), and three crops with the second
# global view's augmentation: g2, which stays at 256x128 (the expert encodes g1 and g2, as in the
# authors' code), and two independent multi-resolution views, which the data preprocessor brings to
# their scales s in [0.75, 1.5] (drawn per batch, so batches stack); it also appends g1 itself rescaled
# (the same pixels at another scale). The anchor is also the person pasted into the 224x224 canvas.
dataset_type = 'PersonCropDataset'
data_root = 'data/LUP1M'

# DINO's photometric augmentation (shared with the code-faithful preset); its values, for both paths
colour_jitter = dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
grey_weights = (0.114, 0.587, 0.2989)  # BGR
blur_sigma = (0.1, 2.0)
flip = dict(type='RandomFlip', prob=0.5, direction='horizontal')
flip_jitter_gray = [
    flip,
    dict(type='RandomApply', prob=0.8, transforms=[dict(type='mmpretrain.ColorJitter', **colour_jitter)]),
    dict(type='mmpretrain.RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=grey_weights),
]
blur = dict(type='mmpretrain.GaussianBlur', magnitude_range=blur_sigma, magnitude_std='inf', prob=1.0)
solarize = dict(type='mmpretrain.Solarize', thr=128, prob=0.2)
# a person crop: random-resized crop (area 0.8-1, width/height 0.4-0.6) to 256x128
person_crop = dict(type='mmpretrain.RandomResizedCrop', scale=(256, 128), crop_ratio_range=(0.8, 1.0),
                   aspect_ratio_range=(0.4, 0.6), interpolation='bicubic', backend='cv2')

# DINO's first and second global views (the code-faithful preset also uses its local views)
global1_aug = [person_crop, *flip_jitter_gray, blur]
global2_aug = [person_crop, *flip_jitter_gray, dict(blur, prob=0.1), solarize]
local_aug = [dict(person_crop, scale=(128, 64), crop_ratio_range=(0.05, 0.8)), *flip_jitter_gray,
             dict(blur, prob=0.5)]

# The same CPU augmentation through OpenCV (the code-faithful preset's, issue 28 §2): CV2ColorJitter and
# CV2GaussianBlur make the Pillow transforms' draws, each result within a grey level of theirs on average,
# at 2.2-2.7x the pipeline's rate (docs/benchmarks.md)
cv2_flip_jitter_gray = [flip, dict(flip_jitter_gray[1], transforms=[dict(type='CV2ColorJitter', **colour_jitter)]),
                        flip_jitter_gray[2]]
cv2_blur = dict(blur, type='CV2GaussianBlur')
cv2_global1_aug = [person_crop, *cv2_flip_jitter_gray, cv2_blur]
cv2_global2_aug = [person_crop, *cv2_flip_jitter_gray, dict(cv2_blur, prob=0.1), solarize]
cv2_local_aug = [local_aug[0], *cv2_flip_jitter_gray, dict(cv2_blur, prob=0.5)]

# The same augmentation on the model's device (issue 28 §2): the workers only decode, crop, flip and
# paste; SAIPDataPreprocessor(photometric=device_photometric) draws every parameter per sample and
# applies it to the batch (saip_mm/models/batch_augment.py). The canvas takes the anchor's parameters
# (it holds the anchor's person, which the CPU path pastes after augmenting it).
global1_device = dict(type='BatchPhotometricAugment', jitter_prob=0.8, **colour_jitter, grey_prob=0.2,
                      grey_weights=grey_weights, blur_prob=1.0, blur_sigma=blur_sigma)
global2_device = dict(global1_device, blur_prob=0.1, solarize_prob=0.2, solarize_threshold=128)
local_device = dict(global1_device, blur_prob=0.5)

# DINO's multi-crop (the DINO-based baselines, configs/baselines): 2 global crops 256x128 + 8 local crops
# 128x64 (the person aspect ratio); the first global crop is the anchor, the others the views
dino_multicrop_pipeline = [
    dict(type='SharedMultiView', num_views=[1, 1, 8], transforms=[global1_aug, global2_aug, local_aug]),
    dict(type='AssignViews'),
    dict(type='PackPretrainInputs'),
]

train_pipeline = [
    # anchor = DINO's first global view g1; then g2 and two multi-resolution views (its second global view)
    dict(type='SharedMultiView', num_views=[1, 3], transforms=[global1_aug, global2_aug]),
    dict(type='AssignViews'),
    dict(type='CopyPasteCanvas', canvas_size=(224, 224), max_instances=3, min_instances=1,
         height_range=(0.4, 0.9), allow_overlap=True, alpha=1.0),
    dict(type='BoxMaskTarget', patch_size=16),
    dict(type='PackSAIPInputs'),
]

train_dataloader = dict(
    batch_size=256,
    num_workers='auto',  # the cores left by the main process (saip_mm.utils.launcher.plan_cpu)
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # a batch crosses from a worker as one tensor per field, not ~6 per sample (saip_mm/datasets/collate.py)
    collate_fn=dict(type='saip_mm.stack_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline),
)

# train_pipeline with the photometric augmentation on the device (the paper preset's; the demo and the
# learning-signal configs keep train_pipeline, as measured in docs/results.md)
device_aug_pipeline = [
    dict(type='SharedMultiView', num_views=[1, 3], transforms=[[person_crop, flip], [person_crop, flip]]),
    *train_pipeline[1:],
]
device_photometric = dict(anchor=global1_device, views=[global2_device] * 3, canvas='anchor')

# The anchor-teacher pairing (the paper preset before 2026-12-03, an ablation now): the anchor g1 and two
# independent multi-resolution views only (with anchor_teacher_pairing of the model base)
anchor_teacher_pipeline = [
    dict(type='SharedMultiView', num_views=[1, 2], transforms=[global1_aug, global2_aug]),
    *train_pipeline[1:],
]
