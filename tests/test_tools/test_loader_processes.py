"""Dataloader worker processes end where the tools say (issue 28): after training in learning_check,
after the loader rows in the benchmark, and a benchmark row killed mid-run does not hang its parent."""
import os
import os.path as osp
import sys
import time

from cfg_paths import ROOT
from torch.utils.data import DataLoader

from saip_mm.utils.dataloader import stop_workers

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import benchmark_pretrain  # noqa: E402


def test_stop_workers_ends_persistent_workers():
    loader = DataLoader(list(range(8)), batch_size=2, num_workers=2, persistent_workers=True)
    it = iter(loader)
    assert next(it).tolist() == [0, 1]
    workers = list(it._workers)
    assert all(w.is_alive() for w in workers)
    assert stop_workers(it) == 2
    assert not any(w.is_alive() for w in workers)
    assert stop_workers(it) == 0  # already ended
    assert stop_workers(iter(DataLoader(list(range(4)), batch_size=2))) == 0  # no workers
    assert stop_workers(None) == 0


def test_a_row_whose_process_leaves_a_child_behind_returns_and_the_child_is_killed(tmp_path):
    """The benchmark's parent reads a row's output from files and kills its process group: a child
    left running with the row's stdout (as a dataloader worker orphaned by the OOM killer) neither
    blocks it nor survives it."""
    pid_file = tmp_path / 'child.pid'
    code = ('import subprocess, sys\n'
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "print('ROW {}')\n"
            "sys.exit(3)\n")
    returncode, out, err = benchmark_pretrain.run_row([sys.executable, '-c', code], dict(os.environ))
    assert returncode == 3 and out.strip() == 'ROW {}' and err == ''
    child = int(pid_file.read_text())
    for _ in range(50):  # SIGKILL is delivered at once; the reaping by init may take a moment
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        if open(f'/proc/{child}/stat').read().split()[2] == 'Z':
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f'the row left process {child} running')
