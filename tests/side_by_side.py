"""Independent subprocesses of one test, started together: on 2 cores their interpreter start-ups
(~5 s of imports each) overlap instead of adding up."""
import subprocess
from typing import Dict, Sequence


def run_side_by_side(commands: Dict[str, Sequence[str]], timeout: float = 300,
                     **popen_kwargs) -> Dict[str, subprocess.CompletedProcess]:
    """Start every command of ``commands`` (name -> argv; ``popen_kwargs`` as for ``subprocess.Popen``,
    the same for all, or a per-name dict of them under ``per_command``) at once; wait for all; name ->
    ``CompletedProcess`` with text stdout and stderr."""
    per_command = popen_kwargs.pop('per_command', {})
    procs = {name: subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    **{**popen_kwargs, **per_command.get(name, {})})
             for name, argv in commands.items()}
    done = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=timeout)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return done
