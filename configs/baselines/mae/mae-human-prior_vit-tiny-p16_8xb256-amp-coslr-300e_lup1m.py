# MAE with HAP's human structure priors (HAP §3.1: 80 % scaling ratio, 50 % block-wise masking), the
# "HAP-0" row of HAP's ablation: MAE's objective, HAP's crops and masks, no keypoints.
#   tools/dist_train.sh configs/baselines/mae/mae-human-prior_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = ['./mae_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py']

model = dict(csr=_base_.hap_prior_mask)
train_dataloader = dict(dataset=dict(pipeline=[dict(_base_.person_crop, **_base_.hap_prior_crop)]
                                     + _base_.mae_flip_pack))
