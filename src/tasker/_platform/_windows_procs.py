"""Looking at processes on Windows, for ``tasker.testing`` and the tests (no ``/proc`` there).

    child_pids()    the live processes whose parent is this one (a Toolhelp snapshot)
    is_alive(pid)   has the process with this pid not ended yet?

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


def child_pids() -> set[int]:
    """The pids of this process's children that are still running."""
    snapshot = _kernel32.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)
    if not snapshot or snapshot == INVALID_HANDLE_VALUE:
        return set()
    me = os.getpid()
    found: set[int] = set()
    try:
        entry = _ProcessEntry(dwSize=ctypes.sizeof(_ProcessEntry))
        more = _kernel32.Process32FirstW(snapshot, ctypes.byref(entry))
        while more:
            if entry.th32ParentProcessID == me and entry.th32ProcessID != me:
                found.add(int(entry.th32ProcessID))
            more = _kernel32.Process32NextW(snapshot, ctypes.byref(entry))
    finally:
        _kernel32.CloseHandle(snapshot)
    return {pid for pid in found if is_alive(pid)}


def is_alive(pid: int) -> bool:
    handle = _kernel32.OpenProcess(SYNCHRONIZE, False, pid)
    if not handle:
        return False
    try:
        return bool(_kernel32.WaitForSingleObject(handle, 0) == WAIT_TIMEOUT)
    finally:
        _kernel32.CloseHandle(handle)
