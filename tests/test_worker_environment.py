"""What a worker process inherits: a Dask nanny's environment must not reach later runs.

A nanny writes ``MALLOC_TRIM_THRESHOLD_=65536`` (with ``OMP_NUM_THREADS=1`` and ``PYTHONHASHSEED``) into its
own process's ``os.environ`` before spawning a worker, and leaves it there; with a ``LocalCluster`` that
process is ours.  Setting that variable at all turns off glibc's dynamic mmap threshold, so a process started
with it maps and unmaps every block above 128 KiB, at each training step.  The allocator is observed, not
assumed: ``mallinfo2().hblks`` counts the blocks glibc holds as separate mappings, and a fresh 1 MiB
``malloc`` adds one to it exactly when the mmap threshold is below 1 MiB.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from proofs_check.dask_cluster import local_cluster
from proofs_check.local_workers import LocalWorkers

NANNY_VARIABLE = "MALLOC_TRIM_THRESHOLD_"


def _libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2  # glibc >= 2.33
    except (OSError, AttributeError):
        return None
    return libc


glibc = pytest.mark.skipif(sys.platform != "linux" or _libc() is None, reason="observes glibc's allocator")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def mapped_blocks_of_one_mebibyte_malloc() -> int:
    """How many separate mappings a 1 MiB ``malloc`` adds in this process (1 below the threshold, else 0)."""
    libc = _libc()
    libc.mallinfo2.restype = _MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # a first block of the size raises glibc's dynamic threshold when freed; the second one is the probe
    libc.free(libc.malloc(1 << 20))
    before = libc.mallinfo2().hblks
    block = libc.malloc(1 << 20)
    added = libc.mallinfo2().hblks - before
    libc.free(block)
    return int(added)


@glibc
def test_a_process_started_with_the_nanny_variable_maps_every_large_block(monkeypatch):
    """The control: a plain spawned process with the variable maps the probe, one without does not."""
    context = multiprocessing.get_context("spawn")
    monkeypatch.delenv(NANNY_VARIABLE, raising=False)  # a cluster run earlier in this process may have left it
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        assert pool.submit(mapped_blocks_of_one_mebibyte_malloc).result() == 0
    monkeypatch.setenv(NANNY_VARIABLE, "65536")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        assert pool.submit(mapped_blocks_of_one_mebibyte_malloc).result() == 1


@glibc
def test_a_local_worker_keeps_the_dynamic_threshold_under_the_nanny_variable(monkeypatch):
    monkeypatch.setenv(NANNY_VARIABLE, "65536")
    workers = LocalWorkers(1, {"torch": 1, "blas": 1})
    try:
        future = workers.submit(mapped_blocks_of_one_mebibyte_malloc, (), "probe")
        assert workers.result(future) == 0
    finally:
        workers.close()


def test_a_local_cluster_leaves_this_process_s_environment_as_it_was():
    pytest.importorskip("dask.distributed")
    before = dict(os.environ)
    with local_cluster(1) as client:
        assert len(client.nthreads()) == 1
    assert dict(os.environ) == before


@pytest.mark.parametrize("workers", [0, -1, 1.0, True, "2"])
def test_a_local_cluster_refuses_a_bad_worker_count_by_name(workers):
    with pytest.raises(ValueError, match="workers"):
        with local_cluster(workers):
            pass
