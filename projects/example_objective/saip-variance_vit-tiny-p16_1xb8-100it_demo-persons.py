# SAIP + the toy variance objective of global_variance.py, on the CPU demo preset.
#   python tools/train.py projects/example_objective/saip-variance_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../../configs/pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py']

custom_imports = dict(imports=['saip_mm', 'projects.example_objective.global_variance'],
                      allow_failed_imports=False)
# VICReg's weight for its variance term (25); at weight 1 the term is too small to move the tokens
model = dict(objectives=dict(
    variance=dict(type='GlobalVariance',
                  head=dict(type='GlobalVarianceHead', target_std=1.0, loss_weight=25.0))))
