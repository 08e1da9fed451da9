"""Hand the heap that the line has freed back to the OS (glibc's ``malloc_trim``).

glibc keeps freed memory in its arenas (one per allocating thread, up to eight per core) for
reuse, and only gives back what sits at the top of the main heap. The line allocates and frees
frames, masks and tensors of a few MiB on a dozen threads, so free pages end up scattered through
every arena and stay resident: RSS creeps up while nothing live grows, and the RSS watchdog would
read that as a leak. ``malloc_trim(0)`` releases every whole free page of every arena (madvise);
it takes about a millisecond and the pages come back on demand.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): its allocator is left as it is
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_MALLOC_TRIM = _load_malloc_trim()


def release_free_heap() -> bool:
    """Return the free pages of every malloc arena to the OS; False where the C library has no
    ``malloc_trim`` (nothing was done)."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True
