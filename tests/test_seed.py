"""The README's examples run as written, in a plain script (no main guard)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)

SCRIPT = Path(__file__).with_name("seed_app.py")


@pytest.mark.parametrize("mode", ["default", "manual"])
def test_seed_examples_run_as_written(mode: str) -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), mode], capture_output=True, text=True, timeout=80, cwd=SCRIPT.parent
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["settled"] is True
    assert report["finished"] == [["completed", report["main_name"]]]
    assert "Tarefa concluída com resultado: Resultado Final" in out.stdout
    assert "Tarefa foi cancelada, parando trabalho." in out.stdout
    assert report["last_fraction"] == 1.0 and report["fractions_in_range"]
    assert report["texts"][-1] == "Ocioso"
    assert any(text in ("Calculando...", "Baixando...", "Trabalhando na thread...") for text in report["texts"])
    assert report["handler_threads"] == [report["main_name"]]
    assert out.stdout.count('"settled"') == 1, "__main__ never re-runs in a worker"
    assert out.stdout.count("Tarefa foi cancelada") == 1
