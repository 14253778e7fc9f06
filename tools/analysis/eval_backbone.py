# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Retrieval figures of pretrained (or random) student encoders on a Market-1501-layout set.

    python tools/analysis/eval_backbone.py none work_dirs/demo/iter_100.pth \
        --config configs/pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py \
        --data demo/vtest_reid [--json out.json]

Each entry is one row of the table:

* ``none``: the random initialisation of ``--config`` with its seed (the weights a run of that
  config starts from); a config path (``.py``) as an entry is the same for that config;
* a runner checkpoint (``iter_*.pth``, ``epoch_*.pth``): its student (``--source expert`` for the EMA
  expert); its own config is used when ``--config`` is not given;
* an exported backbone (``saip2backbone.py`` output, tensors under ``backbone.``);
* ``colour-histogram``: an untrained reference, per-stripe RGB colour histograms
  (``ColourHistogramEncoder``): how far colour alone goes on the set.

``--invariance`` adds ``gray_cos`` and ``flip_cos``: the mean cosine between an image's feature and the
feature of its grayscale / mirrored version (compare with ``pair_cos``, two different images). DINO-style
view augmentation (grayscale p 0.2, colour jitter) asks for colour invariance; on a set where people differ
mostly by their clothes' colour that can cost retrieval (docs/results.md measures it). ``--grayscale``
evaluates every figure on grey copies of the images: how much of a row's retrieval rests on colour, and
whether what pretraining changed is there without it.

The figures are ``PretrainRetrievalMetric``'s (the validation loop of the pretraining configs):
Rank-1 / mAP at scale 1.0 (camera-filtered), the same with every image of the set as a query against
all the others (``all_R1`` / ``all_mAP``: its identity's images of its own camera removed), cross-scale
Rank-1 / mAP (queries at 0.75 against the gallery at 1.5 and the reverse), the mean cosine of an
image's features across scales, and k-NN accuracy on the train part.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

EVAL_BASE = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs', 'pretrain', '_base_',
                     'datasets', 'vtest-reid_retrieval.py')
PREFIXES = {'student': 'backbone.', 'expert': 'expert.module.backbone.'}
MIN_QUERIES = 10
COLUMNS = ('R1', 'mAP', 'all_R1', 'all_mAP', 'xs_R1', 'xs_mAP', 'knn', 'scale_cos', 'pair_cos', 'gray_cos',
           'flip_cos', 'csm_bottleneck_cos', 'csm_teacher_entropy')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Retrieval evaluation of student encoders')
    p.add_argument('checkpoints', nargs='+',
                   help="'none' or a config (random init), or checkpoint paths")
    p.add_argument('--config', help='pretraining config (default: the first checkpoint\'s own)')
    p.add_argument('--data', default=None, help='Market-1501 layout (default: the config\'s / demo set)')
    p.add_argument('--source', choices=sorted(PREFIXES), default='student')
    p.add_argument('--scales', type=float, nargs='+', default=None, help='default: model.eval_cfg')
    p.add_argument('--feature', choices=('global', 'patches', 'both'), default=None)
    p.add_argument('--level', choices=('final', 'mid'), default=None,
                   help="'mid': the block CSR / CSS read (default: model.eval_cfg, the final output)")
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--invariance', action='store_true',
                   help='also report gray_cos / flip_cos (feature vs grayscale / mirrored image)')
    p.add_argument('--grayscale', action='store_true',
                   help='evaluate on grey copies of every image (ITU-R 601 luma in all three channels), '
                        'of the video set and the further sets: what the features find without colour')
    p.add_argument('--json', help='also write the figures to this JSON file: {"set": counts, "encoders": '
                                  '{entry: figures}}')
    p.add_argument('--min-queries', type=int, default=MIN_QUERIES,
                   help='refuse a set with fewer query images: one query is 100 / N points of Rank-1, and '
                        'with one query every figure reads 0 or 100')
    return p.parse_args(argv)


def load_config(args: argparse.Namespace):
    from mmengine.config import Config

    from saip_mm.utils.checkpoint import config_from_checkpoint, load_checkpoint
    if args.config:
        if not osp.isfile(args.config):
            raise FileNotFoundError(f'--config {args.config}: no such file')
        cfg = Config.fromfile(args.config)
    else:
        ckpts = [c for c in args.checkpoints
                 if c not in ('none', 'colour-histogram') and not c.endswith('.py')]
        if not ckpts:
            raise ValueError('give --config: "none" and "colour-histogram" need a config to build the model')
        # the stored config is read as data, never executed (saip_mm.utils.checkpoint)
        cfg = config_from_checkpoint(ckpts[0], load_checkpoint(ckpts[0])['meta'])
    if 'val_dataloader' not in cfg or cfg.get('val_dataloader') is None:
        evaluation = Config.fromfile(EVAL_BASE)
        cfg.merge_from_dict(dict(val_dataloader=evaluation.val_dataloader,
                                 val_evaluator=evaluation.val_evaluator))
    if args.data:
        cfg.val_dataloader.dataset.data_root = args.data
    if str(cfg.val_dataloader.dataset.get('type', '')).endswith(('Market1501Dataset', 'MSMT17Dataset')):
        cfg.val_dataloader.dataset.skip_unreadable = True  # as training skips them: named and counted
    cfg.val_dataloader.batch_size = args.batch_size
    eval_cfg = dict(cfg.model.get('eval_cfg') or {})
    if args.scales:
        eval_cfg['scales'] = tuple(args.scales)
    if args.feature:
        eval_cfg['feature'] = args.feature
    if getattr(args, 'level', None):
        eval_cfg['level'] = args.level
    cfg.model.eval_cfg = eval_cfg
    return cfg


def build_model(cfg, checkpoint: str, source: str = 'student'):
    """The config's SAIP model: random init with the config's seed, then the checkpoint's encoder.

    A runner checkpoint of this config loads whole (student, expert, CSM projector and centre), so the
    CSM diagnostics (``csm_bottleneck_cos``, ``csm_teacher_entropy``) are the run's; for ``none`` they
    are the initialisation's. An exported backbone or another config's checkpoint loads the encoder
    only, and ``colour-histogram`` has none: their rows leave the CSM diagnostics out."""
    from mmengine.runner import set_random_seed

    from saip_mm.registry import MODELS
    set_random_seed(cfg.get('randomness', {}).get('seed', 0) or 0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval_cfg['csm_diagnostics'] = checkpoint == 'none'
    if checkpoint == 'colour-histogram':
        from saip_mm.models.utils.retrieval import ColourHistogramEncoder
        pre = model.data_preprocessor
        model.backbone = ColourHistogramEncoder(mean=pre.mean.flatten().tolist(),
                                                std=pre.std.flatten().tolist())
    elif checkpoint != 'none':
        from saip_mm.utils.checkpoint import load_checkpoint
        state = load_checkpoint(checkpoint)['state']  # torch's safe loader; errors name the file
        # the weights; step counters (`*._extra_state`, ints in older checkpoints) are not needed here
        def weights(sd):
            return {k: v for k, v in sd.items() if torch.is_tensor(v) and not k.endswith('_extra_state')}
        own, theirs = weights(model.state_dict()), weights(state)
        same = set(theirs) == set(own) and all(theirs[k].shape == own[k].shape for k in own)
        if source == 'student' and same:
            model.load_state_dict(theirs, strict=False)  # every weight present: checked just above
            model.eval_cfg['csm_diagnostics'] = True
            return model.eval()
        prefix = PREFIXES[source]
        enc = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not enc:
            raise KeyError(f'{checkpoint}: no tensors under {prefix!r} (a SAIP runner checkpoint or a '
                           'saip2backbone.py export is expected)')
        target = model.backbone
        missing = target.load_state_dict(enc, strict=False).missing_keys
        if missing:
            raise KeyError(f'{checkpoint} lacks {len(missing)} encoder tensor(s): {missing[:8]}')
    return model.eval()


def predict_batch(model, batch: dict, grey: bool = False) -> list:
    """The model's ``val_step`` on a loader batch; with ``grey`` on its images made grey after the
    normalisation (``grayscale``)."""
    if not grey:
        return model.val_step(batch)
    data = model.data_preprocessor(batch, False)
    data['inputs'] = grayscale(data['inputs'], model.data_preprocessor)
    return model(**data, mode='predict')


def evaluate(model, dataloader, metric, invariance: bool = False, grey: bool = False) -> Dict[str, float]:
    from saip_mm.models.utils.retrieval import retrieval_features
    metric.results.clear()
    cos = {'gray_cos': [], 'flip_cos': []}
    with torch.no_grad():
        for batch in dataloader:
            samples = predict_batch(model, batch, grey)
            metric.process(batch, [s.to_dict() for s in samples])
            if invariance:
                x = model.data_preprocessor(batch, False)['inputs']
                feature, level = model.eval_cfg['feature'], model.eval_cfg['level']
                ref = retrieval_features(model.backbone, x, (1.0, ), feature, level=level)[:, 0]
                for key, other in (('gray_cos', grayscale(x, model.data_preprocessor)),
                                   ('flip_cos', x.flip(-1))):
                    f = retrieval_features(model.backbone, other, (1.0, ), feature, level=level)[:, 0]
                    cos[key].append(torch.nn.functional.cosine_similarity(ref, f, dim=-1))
    metrics = metric.compute_metrics(metric.results)
    if invariance:
        metrics.update({k: float(torch.cat(v).mean()) for k, v in cos.items()})
    return metrics


def grayscale(x: torch.Tensor, pre) -> torch.Tensor:
    """Normalised RGB images turned grey (ITU-R 601 luma), normalised again."""
    rgb = x * pre.std + pre.mean
    grey = (0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2])[:, None].expand_as(rgb)
    return (grey - pre.mean) / pre.std


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    args = parse_args(argv)
    from mmengine.logging import MMLogger
    from mmengine.runner import Runner

    from saip_mm.registry import METRICS
    from saip_mm.utils import register_all_modules
    register_all_modules()
    MMLogger.get_instance('eval_backbone', log_level='WARNING')  # no per-tensor init report
    configs = [c for c in args.checkpoints if c.endswith('.py')]
    if configs and not args.config:
        args.config = configs[0]
    cfg = load_config(args)
    loader = Runner.build_dataloader(cfg.val_dataloader)
    counts = set_counts(loader.dataset, args.min_queries)
    metric = METRICS.build(cfg.val_evaluator)
    # the validation loop's further sets (MultiSetValLoop: the cross-scale persons), reported beside it
    extra = [(Runner.build_dataloader(s['dataloader']), METRICS.build(s['evaluator']))
             for s in (cfg.get('val_cfg') or {}).get('extra_sets', [])]
    table = {}
    for ckpt in args.checkpoints:
        model = build_model(cfg, 'none' if ckpt.endswith('.py') else ckpt, args.source)
        table[ckpt] = evaluate(model, loader, metric, args.invariance, args.grayscale)
        for extra_loader, extra_metric in extra:
            extra_metric.results.clear()
            with torch.no_grad():
                for batch in extra_loader:
                    samples = predict_batch(model, batch, args.grayscale)
                    extra_metric.process(batch, [s.to_dict() for s in samples])
            figures = extra_metric.compute_metrics(extra_metric.results)
            table[ckpt].update({f'{extra_metric.prefix}/{k}': v for k, v in figures.items()})
    print(format_table(table, cfg.model.eval_cfg, counts, args.grayscale))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(set=counts, grayscale=args.grayscale, encoders=table), f, indent=2)
    return table


def set_counts(dataset, min_queries: int) -> dict:
    """Query / gallery / train image counts of the evaluation set and the unreadable files it skipped.

    Raises:
        ValueError: If the set has fewer than ``min_queries`` query images (naming the folder).
    """
    data = [dataset.get_data_info(i) for i in range(len(dataset))]
    query = [d for d in data if d.get('is_query', d.get('subset') == 'query')]
    counts = dict(data_root=dataset.data_root, queries=len(query),
                  query_ids=len({int(d['gt_label']) for d in query}),
                  gallery=sum(d.get('subset') == 'gallery' for d in data),
                  train=sum(d.get('subset') == 'train' for d in data),
                  skipped=list(getattr(dataset, 'skipped', [])))
    if counts['queries'] < min_queries:
        raise ValueError(f'{dataset.data_root}: {counts["queries"]} query image(s) (at least {min_queries} '
                         'are needed for Rank-1 / mAP to mean something; one query is 100 / N points); '
                         'lower --min-queries to evaluate anyway')
    return counts


def format_table(table: Dict[str, Dict[str, float]], eval_cfg: dict, counts: Optional[dict] = None,
                 grey: bool = False) -> str:
    """A Markdown table, one row per checkpoint, under a line with the set's counts (``set_counts``)."""
    cols = [c for c in COLUMNS if any(c in row for row in table.values())]
    # further sets' figures with their spread over seeds: 'xscale_persons/R1' shown as "mean ± std"
    spread = [k for k in next(iter(table.values())) if '/' in k and f'{k}_std' in next(iter(table.values()))]
    scales = tuple(eval_cfg.get('scales', (0.75, 1.0, 1.5)))
    lines = [f"retrieval on {len(table)} encoder(s); feature={eval_cfg.get('feature', 'global')}, "
             f"level={eval_cfg.get('level', 'final')}, scales={scales}"
             + ('; every image made grey (--grayscale)' if grey else '')]
    if counts:
        skipped = f"; {len(counts['skipped'])} unreadable image(s) skipped" if counts['skipped'] else ''
        lines.append(f"set {counts['data_root']}: {counts['queries']} queries ({counts['query_ids']} "
                     f"identities; one query = {100 / max(counts['queries'], 1):.1f} points of R1), "
                     f"{counts['gallery']} gallery, {counts['train']} train images{skipped}")
    every = next(iter(table.values())).get('all_queries')
    if every:
        lines.append(f'all_R1 / all_mAP: each of {every:.0f} images a query against all the others '
                     f'(one query = {100 / every:.2f} points of all_R1)')
    persons = next(iter(table.values())).get('xscale_persons/persons')
    if persons:
        lines.append(f'cross-scale persons: {persons:.0f} people, query at the smallest scale against the '
                     f'gallery at the largest and the reverse, mean ± std over seeds (chance R1 '
                     f'{100 / persons:.1f})')
    lines += ['| encoder | ' + ' | '.join(cols + spread) + ' |', '|---' * (len(cols) + len(spread) + 1) + '|']
    for name, row in table.items():
        lines.append(f'| {name} | ' + ' | '.join(
            ['–' if c not in row else f'{row[c]:.3f}' if c.startswith('csm_') or c.endswith('_cos')
             else f'{row[c]:.1f}' for c in cols]
            + [f'{row[k]:.1f} ± {row[k + "_std"]:.1f}' for k in spread]) + ' |')
    return '\n'.join(lines)


if __name__ == '__main__':
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'eval_backbone')
