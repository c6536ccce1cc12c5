"""The embedded cluster never takes Dask's default dashboard port, so it never warns about it.

Dask's scheduler binds an HTTP server even without a dashboard; on its default
port 8787. Where another Dask cluster (another application, a second test run)
holds that port, Dask warns "Port 8787 is already in use … Hosting the HTTP
server on port N instead" into the application's stderr — a warning about a
dashboard the application never asked for, seen only on a busy machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import need_dask

HERE = Path(__file__).resolve().parent


@pytest.mark.timeout(240)
def test_the_embedded_cluster_starts_without_a_warning_while_port_8787_is_taken() -> None:
    need_dask()
    proc = subprocess.run(
        [sys.executable, str(HERE / "port_app.py")], capture_output=True, text=True, timeout=200, cwd=HERE
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["result"] == 32, result
    assert result["warnings"] == [], result
    assert "already in use" not in proc.stderr, proc.stderr
