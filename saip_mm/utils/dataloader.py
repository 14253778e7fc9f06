# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Ending a dataloader's workers at a known point, not at interpreter exit."""
from typing import Any


def stop_workers(iterator: Any) -> int:
    """End the worker processes of a DataLoader iterator now; returns how many were alive.

    Persistent workers otherwise keep prefetching (two batches each) until the process exits, competing
    with whatever runs next (an evaluation), and at exit the DataLoader waits up to 5 s for each busy
    one. A process killed before that (e.g. by the OOM killer) leaves them orphaned, holding the pipes
    of whoever captured its output. ``iterator``: what ``iter(DataLoader(...))`` returned (a
    single-process iterator, or ``None``: nothing to do).
    """
    workers = [w for w in getattr(iterator, '_workers', []) if w.is_alive()]
    if workers:
        iterator._shutdown_workers()  # torch's own: the done event, then join (5 s each) or terminate
    return len(workers)
