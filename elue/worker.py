"""Worker process set-up: torch threads per process = cores / worker concurrency, so that
concurrent evaluations do not oversubscribe the CPU."""

from __future__ import annotations

import os

from celery.signals import worker_init, worker_process_init

_concurrency = 1


@worker_init.connect
def remember_concurrency(sender=None, **kwargs) -> None:
    global _concurrency
    _concurrency = max(1, int(getattr(sender, "concurrency", 1) or 1))


def threads_per_process(cores: int | None, concurrency: int) -> int:
    return max(1, (cores or 1) // max(1, concurrency))


@worker_process_init.connect
def limit_torch_threads(**kwargs) -> None:
    import torch

    torch.set_num_threads(threads_per_process(os.cpu_count(), _concurrency))
