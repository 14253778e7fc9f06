# Table IV ablation at the learning-signal budget: CSR alone (the other objectives are not built).
_base_ = './saip_vit-tiny-p16_1xb8-300it_demo-persons.py'

model = dict(csm=None, css=None)
