# SAIP ViT-Tiny on LUP1M, paper settings: 8 GPUs x 256 images, 300 epochs, AMP.
#   tools/dist_train.sh configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = [
    './_base_/models/saip_vit-tiny-p16.py',
    './_base_/datasets/lup1m_saip.py',
    './_base_/schedules/adamw_300e.py',
    './_base_/default_runtime.py',
]

# DINO's photometric augmentation runs in the data preprocessor, on the GPU, per sample (issue 28 §2); the
# workers decode, crop, flip and paste. The CPU path: photometric=None with the dataset's train_pipeline
model = dict(data_preprocessor=dict(photometric={{_base_.device_photometric}}))
train_dataloader = dict(dataset=dict(pipeline={{_base_.device_aug_pipeline}}))
