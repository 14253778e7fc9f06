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


def assert_ended(pid: int, message: str) -> None:
    """Process ``pid`` is gone or a zombie within 5 s (SIGKILL is delivered at once; the reaping by init
    may take a moment)."""
    for _ in range(50):
        try:
            os.kill(pid, 0)
            with open(f'/proc/{pid}/stat') as f:
                if f.read().split()[2] == 'Z':
                    return
        except (ProcessLookupError, FileNotFoundError):  # gone (between the two reads, too)
            return
        time.sleep(0.1)
    raise AssertionError(f'{message} (process {pid})')


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
    assert_ended(int(pid_file.read_text()), 'the row left its child running')


def test_a_stopped_benchmark_kills_the_row_it_waits_for(tmp_path):
    """``timeout`` stops the benchmark with SIGTERM (device_session.sh); the row runs in its own session,
    out of reach of that signal, so the benchmark must end it: else it goes on using the device while
    the next check runs."""
    import signal
    import subprocess
    pid_file = tmp_path / 'row.pid'
    row = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    code = (f"import os, sys; sys.path.insert(0, {osp.join(ROOT, 'tools', 'analysis')!r})\n"
            'import benchmark_pretrain as b\n'
            'b.stop_rows_on_sigterm()\n'
            f'b.run_row([sys.executable, "-c", {row!r}], dict(os.environ))\n')
    parent = subprocess.Popen([sys.executable, '-c', code])
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    row_pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    assert_ended(row_pid, 'the stopped benchmark left its row running')
