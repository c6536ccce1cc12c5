"""Process jobs in a module that imports nothing heavy (``sys`` only).

Unpickling one of these in a worker imports this module and nothing else, so a
job can report what the worker's own boot imported (``tests/test_cold_start.py``).
"""

import sys


def loaded_modules(ctx: object) -> list[str]:
    """The modules the worker has imported so far."""
    return sorted(sys.modules)


def log_after_first_import(ctx: object, text: str) -> tuple[bool, int]:
    """Import ``logging`` here (the worker's first import of it, if it had none), then log."""
    had = "logging" in sys.modules
    import logging

    logging.getLogger("tests.bare").warning("first import: %s", text)
    return had, len(logging.getLogger().handlers)
