# SAIP at the learning-signal budget with DINOv2's anti-collapse units (issue 26): Sinkhorn-Knopp
# centring over the batch and a queue of the last 512 teacher samples (SwAV's answer to small batches)
# instead of the EMA centre, KoLeo (0.1) on the student's global tokens, DINO's per-tensor clipping.
#   python tools/train.py configs/pretrain/learning_signal/saip-sk-koleo_vit-tiny-p16_1xb8-300it_demo-persons.py
_base_ = ['./saip_vit-tiny-p16_1xb8-300it_demo-persons.py']

model = dict(csm=dict(koleo=dict(type='KoLeoLoss', loss_weight=0.1),
                      head=dict(centering=dict(type='SinkhornKnoppCentering', queue_length=512))))
optim_wrapper = dict(type='PerTensorClipOptimWrapper', clip_grad=dict(type='per_tensor', max_norm=3.0))
