"""What a Windows process engine would build on, checked on the Windows lane.

Runs only on Windows (``scripts/test-windows``: a real Windows CPython under Wine);
each test is one primitive the platform seam's Windows side needs (docs/windows.md):

    channel          multiprocessing.connection over a named pipe, with an authkey
    shared memory    mmap with a tag name; multiprocessing.shared_memory
    handing over     an inheritable handle, to one child only (handle_list)
    tree kill        a Job Object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    suspend          NtSuspendProcess / NtResumeProcess
    memory           GetProcessMemoryInfo (the working set)

Children are the base interpreter (``sys._base_executable``), not the venv's
``python.exe``: on Windows that one is a launcher that runs the real interpreter as
its own child, so its pid is not the pid of the code. Every child is waited for
with a bound and killed at the end.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from ctypes import wintypes
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "win32", reason="Windows primitives: only on Windows")

if sys.platform == "win32":
    import msvcrt

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    ntdll = ctypes.WinDLL("ntdll")

PYTHON = getattr(sys, "_base_executable", sys.executable)
BOUND = 30.0  # seconds: every wait is bounded (Wine starts a process in ~0.1-1 s)

PROCESS_ALL_ACCESS = 0x1F0FFF
SYNCHRONIZE = 0x00100000
WAIT_OBJECT_0, WAIT_TIMEOUT = 0, 0x102
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9
JOB_OBJECT_BASIC_PROCESS_ID_LIST_CLASS = 3


class BasicLimits(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", wintypes.DWORD),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", wintypes.DWORD),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", wintypes.DWORD),
        ("SchedulingClass", wintypes.DWORD),
    ]


class ExtendedLimits(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", BasicLimits),
        ("IoInfo", ctypes.c_ulonglong * 6),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


class PidList(ctypes.Structure):
    _fields_ = [
        ("NumberOfAssignedProcesses", wintypes.DWORD),
        ("NumberOfProcessIdsInList", wintypes.DWORD),
        ("ProcessIdList", ctypes.c_size_t * 64),
    ]


class MemoryCounters(ctypes.Structure):
    _fields_ = [
        ("cb", wintypes.DWORD),
        ("PageFaultCount", wintypes.DWORD),
        ("PeakWorkingSetSize", ctypes.c_size_t),
        ("WorkingSetSize", ctypes.c_size_t),
        ("QuotaPeakPagedPoolUsage", ctypes.c_size_t),
        ("QuotaPagedPoolUsage", ctypes.c_size_t),
        ("QuotaPeakNonPagedPoolUsage", ctypes.c_size_t),
        ("QuotaNonPagedPoolUsage", ctypes.c_size_t),
        ("PagefileUsage", ctypes.c_size_t),
        ("PeakPagefileUsage", ctypes.c_size_t),
    ]


@pytest.fixture
def spawn() -> Iterator[Any]:
    """Start ``python -c code`` with piped stdin/stdout; every child is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(code: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        kwargs.setdefault("stdin", subprocess.PIPE)
        kwargs.setdefault("stdout", subprocess.PIPE)
        child = subprocess.Popen([PYTHON, "-c", code], **kwargs)
        started.append(child)
        return child

    yield start
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(BOUND)


def read_line(child: subprocess.Popen[bytes]) -> str:
    """The child's next line of stdout, within the bound (a reader thread; no sleep)."""
    assert child.stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(child.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(BOUND)
    assert line, "the child printed nothing within the bound"
    return line[0].decode().strip()


def is_alive(pid: int) -> bool:
    handle = kernel32.OpenProcess(SYNCHRONIZE, False, pid)
    if not handle:
        return False
    try:
        return bool(kernel32.WaitForSingleObject(handle, 0) == WAIT_TIMEOUT)
    finally:
        kernel32.CloseHandle(handle)


def wait_gone(pid: int) -> bool:
    handle = kernel32.OpenProcess(SYNCHRONIZE, False, pid)
    if not handle:
        return True
    try:
        return bool(kernel32.WaitForSingleObject(handle, int(BOUND * 1000)) == WAIT_OBJECT_0)
    finally:
        kernel32.CloseHandle(handle)


# -- a private duplex channel ------------------------------------------------------
def test_named_pipe_listener_with_an_authkey_talks_to_a_child() -> None:
    from multiprocessing.connection import Listener

    key = secrets.token_bytes(32)
    address = rf"\\.\pipe\tasker-test-{os.getpid()}-{secrets.token_hex(8)}"
    with Listener(address, family="AF_PIPE", authkey=key) as listener:
        child = subprocess.Popen(
            [PYTHON, "-c", _CLIENT, address, key.hex()], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
        )
        try:
            conn = _accept(listener)
            conn.send(21)
            assert conn.poll(BOUND)
            assert conn.recv() == ("hello", 42)
            assert conn.poll(BOUND)
            assert conn.recv_bytes() == b"x" * (1 << 20)
            conn.close()
            assert child.wait(BOUND) == 0
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(BOUND)


_CLIENT = (
    "import sys\n"
    "from multiprocessing.connection import Client\n"
    "conn = Client(sys.argv[1], family='AF_PIPE', authkey=bytes.fromhex(sys.argv[2]))\n"
    "conn.send(('hello', conn.recv() * 2))\n"
    "conn.send_bytes(b'x' * (1 << 20))\n"
    "conn.close()\n"
)


def _accept(listener: Any) -> Any:
    accepted: list[Any] = []
    errors: list[BaseException] = []

    def accept() -> None:
        try:
            accepted.append(listener.accept())
        except BaseException as error:  # (reported below)
            errors.append(error)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not errors, errors
    assert accepted, "no client connected within the bound"
    return accepted[0]


def test_a_client_with_the_wrong_authkey_is_refused() -> None:
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client, Listener

    address = rf"\\.\pipe\tasker-test-{os.getpid()}-{secrets.token_hex(8)}"
    with Listener(address, family="AF_PIPE", authkey=b"right") as listener:
        outcome: list[BaseException] = []

        def accept() -> None:
            try:
                listener.accept()
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        with pytest.raises(AuthenticationError):
            Client(address, family="AF_PIPE", authkey=b"wrong")
        thread.join(BOUND)
        assert outcome and isinstance(outcome[0], AuthenticationError)


def test_a_duplex_pipe_and_winapi() -> None:
    import _winapi
    from multiprocessing import Pipe

    a, b = Pipe(duplex=True)
    a.send({"n": 1})
    assert b.poll(BOUND) and b.recv() == {"n": 1}
    b.send_bytes(b"back")
    assert a.poll(BOUND) and a.recv_bytes() == b"back"
    read, write = _winapi.CreatePipe(None, 0)
    try:
        _winapi.WriteFile(write, b"ping")
        data, _ = _winapi.ReadFile(read, 4)
        assert data == b"ping"
    finally:
        _winapi.CloseHandle(read)
        _winapi.CloseHandle(write)


# -- shared memory -------------------------------------------------------------------
def test_mmap_with_a_tag_name_is_shared_with_a_child() -> None:
    import mmap

    tag = f"Local\\tasker-test-{os.getpid()}-{secrets.token_hex(8)}"
    size = 16 << 20
    shared = mmap.mmap(-1, size, tagname=tag)
    try:
        shared[0] = 0
        child = subprocess.Popen(
            [PYTHON, "-c", _MMAP_CHILD, tag, str(size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            assert read_line(child) == "written"
            assert shared[0] == 7 and shared[size - 1] == 9
            assert child.wait(BOUND) == 0
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(BOUND)
    finally:
        shared.close()


_MMAP_CHILD = (
    "import mmap, sys\n"
    "size = int(sys.argv[2])\n"
    "m = mmap.mmap(-1, size, tagname=sys.argv[1])\n"
    "m[0] = 7\n"
    "m[size - 1] = 9\n"
    "print('written', flush=True)\n"
    "m.close()\n"
)


def test_multiprocessing_shared_memory_is_shared_with_a_child() -> None:
    from multiprocessing import shared_memory

    block = shared_memory.SharedMemory(create=True, size=1 << 20)
    try:
        child = subprocess.Popen([PYTHON, "-c", _SHM_CHILD, block.name], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert read_line(child) == "written"
            assert bytes(block.buf[:5]) == b"hello"
            assert child.wait(BOUND) == 0
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(BOUND)
    finally:
        block.close()
        block.unlink()


_SHM_CHILD = (
    "import sys\n"
    "from multiprocessing import shared_memory\n"
    "b = shared_memory.SharedMemory(name=sys.argv[1])\n"
    "b.buf[:5] = b'hello'\n"
    "print('written', flush=True)\n"
    "b.close()\n"
)


# -- handing a handle to one child -----------------------------------------------------
def test_an_inheritable_handle_goes_to_the_child_named_in_handle_list() -> None:
    read_fd, write_fd = os.pipe()
    handle = msvcrt.get_osfhandle(write_fd)
    os.set_handle_inheritable(handle, True)
    info = subprocess.STARTUPINFO(lpAttributeList={"handle_list": [handle]})
    child = subprocess.Popen(
        [PYTHON, "-c", _HANDLE_CHILD, str(handle)],
        startupinfo=info,
        close_fds=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        os.close(write_fd)  # the child holds the only write end now
        with os.fdopen(read_fd, "rb") as reader:
            assert reader.read() == b"through the inherited handle"  # EOF: the child closed it
        assert child.wait(BOUND) == 0
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(BOUND)


_HANDLE_CHILD = (
    "import msvcrt, os, sys\n"
    "fd = msvcrt.open_osfhandle(int(sys.argv[1]), 0)\n"
    "os.write(fd, b'through the inherited handle')\n"
    "os.close(fd)\n"
)


# -- a process tree that dies together ---------------------------------------------------
def _job_with_kill_on_close() -> int:
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    job = kernel32.CreateJobObjectW(None, None)
    assert job, ctypes.get_last_error()
    limits = ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    ok = kernel32.SetInformationJobObject(
        wintypes.HANDLE(job), JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS, ctypes.byref(limits), ctypes.sizeof(limits)
    )
    assert ok, ctypes.get_last_error()
    return int(job)


_TREE_CHILD = (
    "import subprocess, sys\n"
    "sys.stdin.readline()\n"  # (started, then put in the job: wait for the word)
    "grandchild = subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read()'], stdin=subprocess.PIPE)\n"
    "print(grandchild.pid, flush=True)\n"
    "sys.stdin.read()\n"
)


def test_closing_a_kill_on_close_job_kills_the_whole_tree(spawn: Any) -> None:
    job = _job_with_kill_on_close()
    child = spawn(_TREE_CHILD)
    handle = kernel32.OpenProcess(PROCESS_ALL_ACCESS, False, child.pid)
    assert handle
    try:
        assert kernel32.AssignProcessToJobObject(wintypes.HANDLE(job), wintypes.HANDLE(handle)), ctypes.get_last_error()
    finally:
        kernel32.CloseHandle(handle)
    child.stdin.write(b"go\n")
    child.stdin.flush()
    grandchild = int(read_line(child))
    assert is_alive(grandchild) and child.poll() is None
    assert _job_pids(job) >= {child.pid, grandchild}  # the grandchild joined the job by itself
    kernel32.CloseHandle(wintypes.HANDLE(job))  # as when the app dies: its handles close
    assert child.wait(BOUND) is not None
    assert wait_gone(grandchild)


def _job_pids(job: int) -> set[int]:
    pids = PidList()
    ok = kernel32.QueryInformationJobObject(
        wintypes.HANDLE(job), JOB_OBJECT_BASIC_PROCESS_ID_LIST_CLASS, ctypes.byref(pids), ctypes.sizeof(pids), None
    )
    assert ok, ctypes.get_last_error()
    return {int(pids.ProcessIdList[i]) for i in range(pids.NumberOfProcessIdsInList)}


def test_terminate_job_object_kills_the_whole_tree(spawn: Any) -> None:
    job = _job_with_kill_on_close()
    try:
        child = spawn(_TREE_CHILD)
        handle = kernel32.OpenProcess(PROCESS_ALL_ACCESS, False, child.pid)
        assert kernel32.AssignProcessToJobObject(wintypes.HANDLE(job), wintypes.HANDLE(handle))
        kernel32.CloseHandle(handle)
        child.stdin.write(b"go\n")
        child.stdin.flush()
        grandchild = int(read_line(child))
        assert kernel32.TerminateJobObject(wintypes.HANDLE(job), 9), ctypes.get_last_error()
        assert child.wait(BOUND) == 9
        assert wait_gone(grandchild)
    finally:
        kernel32.CloseHandle(wintypes.HANDLE(job))


# -- suspend and resume ---------------------------------------------------------------------
_COUNTER_CHILD = (
    "import mmap, sys\n"
    "m = mmap.mmap(-1, 8, tagname=sys.argv[1])\n"
    "print('counting', flush=True)\n"
    "n = 0\n"
    "while True:\n"
    "    n += 1\n"
    "    m[:8] = n.to_bytes(8, 'little')\n"
)


def test_nt_suspend_process_stops_a_child_and_resume_lets_it_go_on() -> None:
    import mmap

    tag = f"Local\\tasker-test-{os.getpid()}-{secrets.token_hex(8)}"
    counter = mmap.mmap(-1, 8, tagname=tag)
    child = subprocess.Popen([PYTHON, "-c", _COUNTER_CHILD, tag], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    handle = kernel32.OpenProcess(PROCESS_ALL_ACCESS, False, child.pid)
    tick = threading.Event()  # never set: bounded pauses between looks
    try:
        assert read_line(child) == "counting"

        def value() -> int:
            return int.from_bytes(counter[:8], "little")

        def advances() -> bool:
            start = value()
            for _ in range(int(BOUND / 0.01)):
                tick.wait(0.01)
                if value() != start:
                    return True
            return False

        assert advances()
        assert ntdll.NtSuspendProcess(wintypes.HANDLE(handle)) == 0
        # Suspension is asynchronous for a running thread: settle, then it must not move.
        tick.wait(0.2)
        frozen = value()
        tick.wait(0.5)
        assert value() == frozen, "the suspended child went on counting"
        assert ntdll.NtResumeProcess(wintypes.HANDLE(handle)) == 0
        assert advances()
    finally:
        kernel32.CloseHandle(handle)
        child.kill()
        child.wait(BOUND)
        counter.close()


# -- a worker's memory ----------------------------------------------------------------------
def test_get_process_memory_info_sees_a_child_grow(spawn: Any) -> None:
    def working_set(pid: int) -> int:
        handle = kernel32.OpenProcess(PROCESS_ALL_ACCESS, False, pid)
        assert handle
        try:
            counters = MemoryCounters(cb=ctypes.sizeof(MemoryCounters))
            assert kernel32.K32GetProcessMemoryInfo(wintypes.HANDLE(handle), ctypes.byref(counters), counters.cb)
            return int(counters.WorkingSetSize)
        finally:
            kernel32.CloseHandle(handle)

    child = spawn(
        "import sys\n"
        "print('small', flush=True)\n"
        "sys.stdin.readline()\n"
        "big = bytearray(200 << 20)\n"
        "for i in range(0, len(big), 4096): big[i] = 1\n"
        "print('big', flush=True)\n"
        "sys.stdin.read()\n"
    )
    assert read_line(child) == "small"
    before = working_set(child.pid)
    child.stdin.write(b"grow\n")
    child.stdin.flush()
    assert read_line(child) == "big"
    after = working_set(child.pid)
    assert after - before >= 150 << 20, (before, after)
