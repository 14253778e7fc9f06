# The ReID config with the reid_flip task of reid_flip.py registered (custom_imports), for
#   python tools/deployment/pytorch2onnx.py \
#       projects/example_downstream_task/reid-flip_vit-tiny-p16_1xb64-24k_market1501-256x128.py \
#       reid.pth --task reid_flip --out reid_flip.onnx --verify
_base_ = ['../../configs/downstream/reid/reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py']

custom_imports = dict(imports=['saip_mm.models', 'saip_mm.datasets', 'saip_mm.evaluation',
                               'projects.example_downstream_task.reid_flip'], allow_failed_imports=False)
