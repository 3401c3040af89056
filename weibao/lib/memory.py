"""Pausing Python's cyclic garbage collector over bulk work.

Bulk steps (a feed chunk, a linkage batch, the demo's generator) make millions of short-lived acyclic
objects — rows, tuples, dicts. Each burst of allocations triggers collections that rescan everything
still alive, a large share of such a step's CPU. Reference counting frees those objects all the same;
cycles, if any, wait for the first collection after the step.
"""

import contextlib
import gc


@contextlib.contextmanager
def cycles_paused():
    """No cyclic garbage collection inside the block (process-wide; nested use is harmless)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
