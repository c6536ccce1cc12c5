"""Bundle the Rayforge compat layer's submodules when an application imports it.

``tasker.compat.rayforge`` loads its names and Rayforge's submodule paths
(``install_as``) with ``importlib``, and a worker unpickles its process calls
from ``tasker.compat.rayforge.proxy``: PyInstaller's analysis sees none of it.
"""

from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("tasker.compat.rayforge")
