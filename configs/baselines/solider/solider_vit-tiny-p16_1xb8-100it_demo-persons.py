# CPU demo of the SOLIDER baseline: the DINO CPU demo plus the semantic controller and token
# classification.
#   python tools/train.py configs/baselines/solider/solider_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../dino/dino_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/solider.py']

model = _base_.solider_model
