"""The test app "frozen" without PyInstaller: CPython's own spawn.freeze_support().

Run through a launcher (``$FAKE_FROZEN_EXE``, a shell script that execs this
file) that stands for the bundle's executable: the app sets ``sys.frozen`` and
points ``sys.executable`` at the launcher, as a bundle would have them, so tasker
starts its workers as ``launcher --multiprocessing-fork pipe_handle=N``. (On
Linux ``multiprocessing.freeze_support()`` itself does nothing outside a
PyInstaller bundle; ``multiprocessing.spawn.freeze_support()`` is the function
that PyInstaller's replacement mirrors.)
"""

from __future__ import annotations

import multiprocessing.spawn
import os
import sys

if __name__ == "__main__":
    sys.frozen = True  # type: ignore[attr-defined]
    sys.executable = os.environ["FAKE_FROZEN_EXE"]
    if os.environ.get("FROZEN_APP_SKIP_FREEZE_SUPPORT") != "1":
        multiprocessing.spawn.freeze_support()  # a worker: runs it, then exits
    import app

    sys.exit(app.main_that_forgot() if os.environ.get("FROZEN_APP_SKIP_FREEZE_SUPPORT") == "1" else app.main())
