"""Looking at processes on Windows, for ``tasker.testing`` and the tests (no ``/proc`` there).

    child_pids()    the live processes whose parent is this one (a Toolhelp snapshot)
    processes()     every process of the system (or of the Wine prefix): pid -> (parent, exe)
    is_alive(pid)   has the process with this pid not ended yet?
    wait_gone(pid)  wait (bounded) until it has ended: False if it still runs

A pid is only a name until the process is opened; these are diagnostics (what a
test checks), never used to signal anything (the engine works through handles:
``_windows``).
"""

from __future__ import annotations

import sys

assert sys.platform == "win32"  # (mypy checks this module with --platform win32)

import ctypes  # noqa: E402
import os  # noqa: E402
from ctypes import wintypes  # noqa: E402

_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_kernel32.CreateToolhelp32Snapshot.restype = wintypes.HANDLE
_kernel32.CreateToolhelp32Snapshot.argtypes = (wintypes.DWORD, wintypes.DWORD)
_kernel32.OpenProcess.restype = wintypes.HANDLE
_kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
_kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
_kernel32.WaitForSingleObject.argtypes = (wintypes.HANDLE, wintypes.DWORD)

TH32CS_SNAPPROCESS = 0x00000002
INVALID_HANDLE_VALUE = wintypes.HANDLE(-1).value
SYNCHRONIZE = 0x00100000
WAIT_TIMEOUT = 0x102


class _ProcessEntry(ctypes.Structure):
    _fields_ = [
        ("dwSize", wintypes.DWORD),
        ("cntUsage", wintypes.DWORD),
        ("th32ProcessID", wintypes.DWORD),
        ("th32DefaultHeapID", ctypes.c_size_t),
        ("th32ModuleID", wintypes.DWORD),
        ("cntThreads", wintypes.DWORD),
        ("th32ParentProcessID", wintypes.DWORD),
        ("pcPriClassBase", wintypes.LONG),
        ("dwFlags", wintypes.DWORD),
        ("szExeFile", wintypes.WCHAR * 260),
    ]


_kernel32.Process32FirstW.argtypes = (wintypes.HANDLE, ctypes.POINTER(_ProcessEntry))
_kernel32.Process32NextW.argtypes = (wintypes.HANDLE, ctypes.POINTER(_ProcessEntry))


def processes() -> dict[int, tuple[int, str]]:
    """Every process a Toolhelp snapshot lists: its pid -> (its parent's pid, its exe's name)."""
    snapshot = _kernel32.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)
    if not snapshot or snapshot == INVALID_HANDLE_VALUE:
        return {}
    found: dict[int, tuple[int, str]] = {}
    try:
        entry = _ProcessEntry(dwSize=ctypes.sizeof(_ProcessEntry))
        more = _kernel32.Process32FirstW(snapshot, ctypes.byref(entry))
        while more:
            found[int(entry.th32ProcessID)] = (int(entry.th32ParentProcessID), str(entry.szExeFile))
            more = _kernel32.Process32NextW(snapshot, ctypes.byref(entry))
    finally:
        _kernel32.CloseHandle(snapshot)
    return found


def child_pids() -> set[int]:
    """The pids of this process's children that are still running."""
    me = os.getpid()
    found = {pid for pid, (parent, _) in processes().items() if parent == me and pid != me}
    return {pid for pid in found if is_alive(pid)}


def is_alive(pid: int) -> bool:
    handle = _kernel32.OpenProcess(SYNCHRONIZE, False, pid)
    if not handle:
        return False
    try:
        return bool(_kernel32.WaitForSingleObject(handle, 0) == WAIT_TIMEOUT)
    finally:
        _kernel32.CloseHandle(handle)


def wait_gone(pid: int, timeout: float) -> bool:
    """Has the process ``pid`` ended within ``timeout`` s (True also when it cannot be opened)?"""
    handle = _kernel32.OpenProcess(SYNCHRONIZE, False, pid)
    if not handle:
        return True
    try:
        return bool(_kernel32.WaitForSingleObject(handle, int(timeout * 1000)) != WAIT_TIMEOUT)
    finally:
        _kernel32.CloseHandle(handle)
