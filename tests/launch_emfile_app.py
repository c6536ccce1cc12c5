"""An app that has used up its file descriptors (RLIMIT_NOFILE) when it runs a process task.

It prints ``RESULT {json}``: how the task ended (``launch_driver.drive_to_failure``)
and, once it has closed those descriptors, the result of the next process task.
"""

from __future__ import annotations

import json
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import launch_driver
import tasker._core._cancelled  # noqa: F401  (what the manager's warm-up thread imports)
from tasker import TaskManager
from tasker._platform import _group, _linux, _wire  # noqa: F401
from tasker.runners.process import _reader  # noqa: F401  (imported now: an import needs descriptors too)
from tasker.schedulers import _headless  # noqa: F401  (likewise: schedulers load on first use)
from tasker.testing import FakeClock

import jobs


def main() -> None:
    clock = FakeClock()
    manager = TaskManager(clock=clock, max_processes=1, spare_processes=0)
    manager._lifecycle.runner("process")  # the pool (its lifeline pipe) exists before the descriptors run out
    launches = launch_driver.Launches()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
    hog = []
    try:
        while True:
            hog.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    task = manager.run_process(jobs.ok, 21)
    result = launch_driver.drive_to_failure(clock, launches, task)
    for fd in hog:
        os.close(fd)
    again = manager.run_process(jobs.ok, 21)
    assert again.wait(launch_driver.BOUND), "the next task did not end"
    result["again"] = again.result()
    result["made_in_all"] = launches.made
    print("RESULT " + json.dumps(result), flush=True)
    manager.shutdown()


if __name__ == "__main__":
    main()
