"""The model-zoo metadata of configs/pretrain agrees with the configs it names."""
import os.path as osp

import yaml
from mmengine.config import Config


def test_metafile_lists_every_pretraining_preset(root):
    with open(osp.join(root, 'configs/pretrain/metafile.yml')) as f:
        meta = yaml.safe_load(f)
    names = [m['Name'] for m in meta['Models']]
    assert len(names) == len(set(names))
    listed = {m['Config'] for m in meta['Models']}
    import glob
    # the short-named entry points (saip_vit-tiny_lup1m.py, ...) are the presets themselves, not rows
    presets = {osp.relpath(p, root) for p in glob.glob(osp.join(root, 'configs/pretrain/*_8xb*_lup1m*.py'))}
    assert listed == presets
    with open(osp.join(root, 'configs/pretrain/README.md')) as f:
        readme = f.read()
    for model in meta['Models']:
        assert osp.basename(model['Config'])[:-3] == model['Name']
        assert f"`{model['Name']}.py`" in readme
        cfg = Config.fromfile(osp.join(root, model['Config']))
        # the schedule and batch in the name are the config's: 8 GPUs x 256 images, 300 epochs
        assert cfg.train_dataloader.batch_size * 8 == model['Metadata']['Batch Size']
        assert cfg.train_cfg.max_epochs == model['Metadata']['Epochs']
        assert cfg.optim_wrapper.type == 'PerTensorClipAmpOptimWrapper'
        # the parameter count is the student encoder's (a ConvNet's without the token adapter)
        from mmengine.registry import DefaultScope

        from saip_mm.registry import MODELS
        with DefaultScope.overwrite_default_scope('saip_mm'):
            student = MODELS.build(cfg.model.backbone)
        encoder = getattr(student, 'encoder', student)
        params = sum(p.numel() for p in encoder.parameters())
        assert abs(params - model['Metadata']['Parameters']) < 0.01e6, (model['Name'], params)


def test_baselines_metafile_lists_every_paper_scale_baseline(root):
    """configs/baselines/metafile.yml names every paper-scale baseline config once, in an existing
    collection, with the schedule and batch of the config and the student's parameter count."""
    import glob

    from mmengine.registry import DefaultScope

    from saip_mm.registry import MODELS
    with open(osp.join(root, 'configs/baselines/metafile.yml')) as f:
        meta = yaml.safe_load(f)
    collections = {c['Name'] for c in meta['Collections']}
    listed = {m['Config'] for m in meta['Models']}
    configs = {osp.relpath(p, root)
               for p in glob.glob(osp.join(root, 'configs/baselines/*/*_8xb256-amp-coslr-300e_lup1m.py'))}
    assert listed == configs
    params = {}
    for model in meta['Models']:
        assert osp.basename(model['Config'])[:-3] == model['Name']
        assert model['In Collection'] in collections
        cfg = Config.fromfile(osp.join(root, model['Config']))
        assert cfg.train_dataloader.batch_size * 8 == model['Metadata']['Batch Size']
        assert cfg.train_cfg.max_epochs == model['Metadata']['Epochs']
        key = repr(cfg.model.backbone)  # a controller (SOLIDER) adds parameters
        if key not in params:
            with DefaultScope.overwrite_default_scope('saip_mm'):
                student = MODELS.build(cfg.model.backbone)
            params[key] = sum(p.numel() for p in getattr(student, 'encoder', student).parameters())
        assert abs(params[key] - model['Metadata']['Parameters']) < 0.01e6, (model['Name'], params[key])
