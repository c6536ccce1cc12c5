"""A worker's log records go to the parent, which hands them to its own loggers.

Imported by ``_child`` only once ``logging`` is (``_child.forward_logging``): a worker's
boot does not import ``logging``, which costs a fresh interpreter milliseconds (it
imports ``traceback``, ``re``, ``weakref``, ``string``...); the first import of it, by
the application's code or an initializer, installs the handler right after
``logging`` has run, before any of that code can log.
"""

from __future__ import annotations

import logging

from .._remote._codec import log_fields
from ._messages import LOG

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from ._link import Link


def install(link: Link, name: str, level: int) -> None:
    """The root logger at the parent's level, forwarding every record to the parent."""
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(ForwardHandler(link, name))


class ForwardHandler(logging.Handler):
    """Sends every record to the parent, which hands it to its own loggers."""

    def __init__(self, link: Link, name: str) -> None:
        super().__init__()
        self._link = link
        self._name = name  # the worker's: logging's processName in the parent

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = log_fields(self, record)
            fields["processName"] = self._name
            cell = self._link.cell
            self._link.send((LOG, cell._id if cell is not None else 0, fields))
        except Exception:
            self.handleError(record)
