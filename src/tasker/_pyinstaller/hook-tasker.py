"""PyInstaller hook for tasker: bundle the modules tasker imports lazily.

``tasker/__init__.py`` resolves its public names with ``importlib``; schedulers
are chosen by name at run time; a worker process imports
``tasker.runners.process._child`` (named only in a string; runners are
loaded by name too) and unpickles calls with
cloudpickle; the process engine's platform implementation (``tasker._platform``)
is imported by name, and the posix one reads memory through psutil. The GTK
widgets (``tasker.gtk``), the terminal view and the demo are left out: an
application that uses them imports them, and PyInstaller sees that.
"""

import sys

from PyInstaller.utils.hooks import collect_submodules

hiddenimports = [
    *collect_submodules("tasker._core"),
    *collect_submodules("tasker.schedulers"),
    *collect_submodules("tasker.runners"),
    *collect_submodules("tasker._platform"),
    "cloudpickle",
]
if sys.platform != "linux":  # (psutil is a dependency there: see pyproject.toml)
    hiddenimports.append("psutil")
