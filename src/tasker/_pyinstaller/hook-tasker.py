"""PyInstaller hook for tasker: bundle the modules tasker imports lazily.

``tasker/__init__.py`` resolves its public names with ``importlib``; schedulers
are chosen by name at run time; a worker process imports
``tasker.runners.process._child`` (named only in a string; runners are
loaded by name too) and unpickles calls with
cloudpickle. The GTK widgets (``tasker.gtk``), the terminal view and the demo are
left out: an application that uses them imports them, and PyInstaller sees that.
"""

from PyInstaller.utils.hooks import collect_submodules

hiddenimports = [
    *collect_submodules("tasker._core"),
    *collect_submodules("tasker.schedulers"),
    *collect_submodules("tasker.runners"),
    "cloudpickle",
]
