# Table IV ablation at the learning-signal budget: CSR alone (the other objectives are not built).
_base_ = './saip_vit-tiny_300it_demo-cpu.py'

model = dict(csm=None, css=None)
