"""The keyword arguments that configure a task instead of reaching its function.

They are defined in ``_validate`` (see there why); this module names them for
the code that imports them from here (``_chain``, ``_batch``, ``tasker``).
"""

from __future__ import annotations

from ._validate import RESERVED_KWARGS, STREAMING_KINDS, Reserved, give_back, take_reserved

__all__ = ["RESERVED_KWARGS", "STREAMING_KINDS", "Reserved", "give_back", "take_reserved"]
