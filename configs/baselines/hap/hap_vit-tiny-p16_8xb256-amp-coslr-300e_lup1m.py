# HAP on ViT-Tiny with SAIP's data and schedule (8 GPUs x 256 images, 300 epochs, AdamW lr 2.5e-4 per
# 256 images, AMP). LUP1M has no keypoints: predict them first, as HAP does with ViTPose, into
# data/LUP1M/keypoints.json (tools/dataset_converters/predict_keypoints.py).
#   tools/dist_train.sh configs/baselines/hap/hap_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['../../pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', '../mae/_base_/mae.py',
          './_base_/hap.py']

model = _base_.mae_model
model.update(_base_.hap_model)
model.csr.update(_base_.hap_prior_mask)
train_dataloader = dict(dataset=dict(keypoint_file='keypoints.json',
                                     pipeline=[dict(_base_.person_crop, **_base_.hap_crop)]
                                     + _base_.hap_pipeline_tail))
custom_hooks = _base_.mae_hooks + [_base_.milestone_checkpoint]
