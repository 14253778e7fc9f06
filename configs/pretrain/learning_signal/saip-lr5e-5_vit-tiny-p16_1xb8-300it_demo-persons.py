# Learning-rate check at the learning-signal budget: SAIP at lr 5e-5 (the demo's 5e-4 / 10). The paper's
# rule (2.5e-4 x batch / 256) would give 7.8e-6 at batch 8; the demo's 5e-4 is 64x that.
_base_ = './saip_vit-tiny-p16_1xb8-300it_demo-persons.py'

optim_wrapper = dict(optimizer=dict(lr=5e-5))
