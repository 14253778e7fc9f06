"""Issue 29 §5: ``make learning-signal`` and ``make learning-recipe`` run every learning-signal config but
the two that other tools run (the Makefile says which and why); a config added to the folder and to no
target fails here."""
import glob
import os.path as osp
import re
import shutil
import subprocess

import pytest

# run elsewhere, by design (see the Makefile's comment above LS_DIR)
ELSEWHERE = {
    'dino-reference_vit-tiny-p16_1xb8-318it_demo-persons': 'beside the official DINO code (docs/results.md)',
    'saip_vit-tiny-p16_1xb256-amp-600it_demo-persons': 'on a GPU by tools/analysis/learning_check.py',
}


@pytest.mark.skipif(shutil.which('make') is None, reason='needs make')
def test_every_learning_signal_config_has_a_make_target(root):
    out = subprocess.run(['make', '-n', 'learning-signal', 'learning-recipe'], cwd=root, check=True,
                         capture_output=True, text=True).stdout
    stems = [osp.basename(p)[:-3] for p in glob.glob(osp.join(root, 'configs/pretrain/learning_signal/*.py'))]
    assert len(stems) > 20
    words = set(re.split(r'[\s;/]+', out))
    trained = {s for s in stems if s in words}
    missing = sorted(set(stems) - trained - set(ELSEWHERE))
    assert not missing, f'learning-signal configs that no make target runs: {missing}'
    assert not set(ELSEWHERE) & trained
    # every trained run is evaluated: it is named on (or in the loop of) an eval_backbone.py line
    lines = out.replace('\\\n', ' ').splitlines()
    evaluating = ' '.join(line for line in lines if 'eval_backbone.py' in line)
    for s in trained:
        assert s in evaluating, s
