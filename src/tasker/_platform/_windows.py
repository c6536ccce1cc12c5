"""The process engine on Windows: a named pipe, a tagged mmap, a Job Object per worker.

    channel        a duplex named pipe made and connected inside the parent
                   (``multiprocessing``'s ``Pipe``: first instance, remote clients
                   refused); the worker's end is a handle inherited by that child
                   alone (``STARTUPINFO``'s ``handle_list``). A message is one
                   ``send_bytes``; payloads travel in band (no descriptors to pass)
    shared memory  the cancel flags: an mmap with a random 128-bit tag
                   (``Local\\tasker-…``, the creator's default DACL); the worker
                   opens it by that tag (its command line)
    tree kill      the worker is created inside a Job Object of its own with
                   KILL_ON_JOB_CLOSE in one step (``CreateProcessW``'s attribute
                   list: PROC_THREAD_ATTRIBUTE_JOB_LIST, Windows 10+ and Wine 8):
                   everything it starts is in the job too; ``TerminateJobObject``
                   kills the tree. Where Windows refuses the attribute, it is put in
                   the job just after CreateProcess returns, before it is sent its
                   start-up data; not started suspended there (a running worker
                   whose app died before the job reads the end of its pipe and
                   exits), and an app dying inside CreateProcess itself can still
                   leave it behind on that path (docs/windows.md)
    pause          NtSuspendProcess / NtResumeProcess of each process in the job
                   (each proven in it by ``IsProcessInJob`` through its handle)
    parent death   the job's only handle is the parent's: when the application
                   dies, however, Windows closes it and kills every job's processes
    memory         the worker's working set (K32GetProcessMemoryInfo, its handle)
    priority       worker_nice: the worker lowers its own priority class before its
                   first task (BELOW_NORMAL; IDLE from nice 15 on), which the
                   processes its tasks start inherit; a prestarted worker boots in the
                   IDLE class (SetPriorityClass through the parent's handle of it)
                   and is back to NORMAL before it is ready or once a task waits
    proof          the process handle Popen holds; a job's member opened by pid
                   is used only once IsProcessInJob says it is in our job

A venv's ``python.exe`` is a launcher that runs the base interpreter as its own
child (its pid, handle and memory would be the launcher's): like
``multiprocessing``, ``spawn`` starts the base interpreter and names the venv in
``__PYVENV_LAUNCHER__``. Library note: ``psutil`` suspends and measures processes
by pid, and knows no Job Objects; the calls here go through the handles of our
own job and process (``ctypes``: kernel32 and ntdll).
"""

from __future__ import annotations

import sys

assert sys.platform == "win32"  # (mypy checks this module with --platform win32)

import _winapi  # noqa: E402
import ctypes  # noqa: E402
import logging  # noqa: E402
import mmap  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import weakref  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from ctypes import wintypes  # noqa: E402
from multiprocessing.connection import Pipe, PipeConnection  # noqa: E402
from typing import Any  # noqa: E402

from ._base import Features, Handoff, Lifeline, Platform  # noqa: E402

_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_ntdll = ctypes.WinDLL("ntdll")
_kernel32.CreateJobObjectW.restype = wintypes.HANDLE
_kernel32.CreateJobObjectW.argtypes = (ctypes.c_void_p, wintypes.LPCWSTR)
_kernel32.OpenProcess.restype = wintypes.HANDLE
_kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
_kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
_kernel32.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
_kernel32.TerminateJobObject.argtypes = (wintypes.HANDLE, wintypes.UINT)
_kernel32.SetInformationJobObject.argtypes = (wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD)
_kernel32.QueryInformationJobObject.argtypes = (
    wintypes.HANDLE,
    ctypes.c_int,
    ctypes.c_void_p,
    wintypes.DWORD,
    ctypes.c_void_p,
)
_kernel32.IsProcessInJob.argtypes = (wintypes.HANDLE, wintypes.HANDLE, ctypes.POINTER(wintypes.BOOL))
_kernel32.K32GetProcessMemoryInfo.argtypes = (wintypes.HANDLE, ctypes.c_void_p, wintypes.DWORD)
_kernel32.SetPriorityClass.argtypes = (wintypes.HANDLE, wintypes.DWORD)
_kernel32.GetPriorityClass.argtypes = (wintypes.HANDLE,)
_kernel32.GetCurrentThread.restype = wintypes.HANDLE
_kernel32.SetThreadPriority.argtypes = (wintypes.HANDLE, ctypes.c_int)
_kernel32.InitializeProcThreadAttributeList.argtypes = (
    ctypes.c_void_p,
    wintypes.DWORD,
    wintypes.DWORD,
    ctypes.POINTER(ctypes.c_size_t),
)
_kernel32.UpdateProcThreadAttribute.argtypes = (
    ctypes.c_void_p,
    wintypes.DWORD,
    ctypes.c_size_t,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_void_p,
    ctypes.c_void_p,
)
_kernel32.DeleteProcThreadAttributeList.argtypes = (ctypes.c_void_p,)
_ntdll.NtSuspendProcess.argtypes = (wintypes.HANDLE,)
_ntdll.NtResumeProcess.argtypes = (wintypes.HANDLE,)

PROCESS_SUSPEND_RESUME = 0x0800
PROCESS_QUERY_INFORMATION = 0x0400  # (IsProcessInJob under Wine needs it; the limited right is not enough)
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
_EXTENDED_LIMIT_INFORMATION = 9
_BASIC_PROCESS_ID_LIST = 3
NORMAL_PRIORITY_CLASS = 0x00000020
BELOW_NORMAL_PRIORITY_CLASS = 0x00004000
IDLE_PRIORITY_CLASS = 0x00000040
THREAD_PRIORITY_NORMAL = 0
THREAD_PRIORITY_IDLE = -15
#: ``worker_nice`` from this value on puts a worker in the IDLE priority class (it runs
#: only when nothing else wants the CPU); from 1 to 14 in BELOW_NORMAL (below the UI,
#: which is NORMAL, but not starved by it).
IDLE_NICE = 15
#: The exit code of the processes of a job it kills (TerminateJobObject).
KILLED_EXIT_CODE = 0xC000013A  # STATUS_CONTROL_C_EXIT: what Windows itself uses for a forced end
PROC_THREAD_ATTRIBUTE_HANDLE_LIST = 0x00020002
PROC_THREAD_ATTRIBUTE_JOB_LIST = 0x0002000D  # (Windows 10 and later; Wine 8 too)
EXTENDED_STARTUPINFO_PRESENT = 0x00080000
CREATE_UNICODE_ENVIRONMENT = 0x00000400
STARTF_USESTDHANDLES = 0x00000100
#: At most this many processes of one job are suspended or resumed (a worker and what its task started).
MAX_JOB_PROCESSES = 1024


class _BasicLimits(ctypes.Structure):
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


class _ExtendedLimits(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", _BasicLimits),
        ("IoInfo", ctypes.c_ulonglong * 6),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


class _PidList(ctypes.Structure):
    _fields_ = [
        ("NumberOfAssignedProcesses", wintypes.DWORD),
        ("NumberOfProcessIdsInList", wintypes.DWORD),
        ("ProcessIdList", ctypes.c_size_t * MAX_JOB_PROCESSES),
    ]


class _MemoryCounters(ctypes.Structure):
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


class _StartupInfo(ctypes.Structure):
    _fields_ = [
        ("cb", wintypes.DWORD),
        ("lpReserved", wintypes.LPWSTR),
        ("lpDesktop", wintypes.LPWSTR),
        ("lpTitle", wintypes.LPWSTR),
        ("dwX", wintypes.DWORD),
        ("dwY", wintypes.DWORD),
        ("dwXSize", wintypes.DWORD),
        ("dwYSize", wintypes.DWORD),
        ("dwXCountChars", wintypes.DWORD),
        ("dwYCountChars", wintypes.DWORD),
        ("dwFillAttribute", wintypes.DWORD),
        ("dwFlags", wintypes.DWORD),
        ("wShowWindow", wintypes.WORD),
        ("cbReserved2", wintypes.WORD),
        ("lpReserved2", ctypes.c_void_p),
        ("hStdInput", wintypes.HANDLE),
        ("hStdOutput", wintypes.HANDLE),
        ("hStdError", wintypes.HANDLE),
    ]


class _StartupInfoEx(ctypes.Structure):
    _fields_ = [("StartupInfo", _StartupInfo), ("lpAttributeList", ctypes.c_void_p)]


class _ProcessInformation(ctypes.Structure):
    _fields_ = [
        ("hProcess", wintypes.HANDLE),
        ("hThread", wintypes.HANDLE),
        ("dwProcessId", wintypes.DWORD),
        ("dwThreadId", wintypes.DWORD),
    ]


_kernel32.CreateProcessW.argtypes = (
    wintypes.LPCWSTR,
    wintypes.LPWSTR,
    ctypes.c_void_p,
    ctypes.c_void_p,
    wintypes.BOOL,
    wintypes.DWORD,
    ctypes.c_void_p,
    wintypes.LPCWSTR,
    ctypes.c_void_p,
    ctypes.POINTER(_ProcessInformation),
)


def _failed(what: str) -> OSError:
    code = ctypes.get_last_error()
    return OSError(0, f"{what} failed: {ctypes.FormatError(code)}", None, code)


# -- the channel -------------------------------------------------------------------------
class PipeChannel:
    """One end of a duplex named pipe; each message is one ``send_bytes`` (no fds on Windows)."""

    def __init__(self, conn: PipeConnection) -> None:
        self.conn = conn

    def send(self, body: bytes | bytearray | memoryview, handles: Sequence[int] = (), prefix: bytes = b"") -> None:
        if handles:
            raise ValueError("file descriptors cannot travel over a Windows pipe (payloads go in band)")
        try:
            if prefix:
                self.conn.send_bytes(prefix + bytes(body))
            else:
                self.conn.send_bytes(body)
        except (EOFError, ValueError) as error:  # (closed: the same as a socket's OSError)
            raise BrokenPipeError(str(error)) from error

    def recv(self) -> tuple[bytearray, list[int]]:
        """One message; ``EOFError`` when the peer is gone."""
        try:
            data = self.conn.recv_bytes()
        except OSError as error:  # ERROR_BROKEN_PIPE and the like: the peer is gone
            raise EOFError(f"peer closed the pipe ({error})") from error
        return bytearray(data), []

    def wait_readable(self, timeout: float | None) -> bool:
        """Is a message (or the end) there within ``timeout`` s?"""
        try:
            return self.conn.poll(timeout)
        except (OSError, EOFError):
            return True  # the next recv raises EOFError

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.close()


def open_channel() -> tuple[PipeChannel, int]:
    """The parent's end, and the handle of the worker's end (inheritable: hand it to one child, then close)."""
    parent, child = Pipe(duplex=True)
    handle = child.fileno()
    os.set_handle_inheritable(handle, True)
    # The connection object must not close the handle when collected: the caller owns it now.
    child._handle = None  # type: ignore[attr-defined]
    return PipeChannel(parent), handle


def close_handle(handle: int) -> None:
    _winapi.CloseHandle(handle)


def child_channel(handle: int) -> PipeChannel:
    """The worker's end, from the handle it inherited; no process it starts inherits it again."""
    os.set_handle_inheritable(handle, False)
    return PipeChannel(PipeConnection(handle))


# -- control memory --------------------------------------------------------------------------
def control_memory(size: int) -> tuple[mmap.mmap, str]:
    """``size`` zeroed bytes shared with one worker by a random 128-bit tag: the map and the tag."""
    tag = f"Local\\tasker-{os.getpid()}-{secrets.token_hex(16)}"
    return mmap.mmap(-1, size, tagname=tag), tag


def open_control_memory(tag: str, size: int) -> mmap.mmap:
    return mmap.mmap(-1, size, tagname=tag)


# -- the worker's process and its job ---------------------------------------------------------
#: Does this Windows create a process inside a job in one step (``CreateProcessW`` with
#: ``PROC_THREAD_ATTRIBUTE_JOB_LIST``)? None until the first worker's start tries; False
#: once Windows refused the attribute (before Windows 10): workers then go into their job
#: just after ``CreateProcess`` returns (``JobProcess``'s older path).
# Invariant: goes from None to True or False only, and never back (threads that race on the
# first start find the same answer).
one_step_jobs: bool | None = None


class _JobListRefused(Exception):
    """``UpdateProcThreadAttribute`` refused ``PROC_THREAD_ATTRIBUTE_JOB_LIST``: this Windows has none."""


class JobProcess(subprocess.Popen[bytes]):
    """A worker started inside a Job Object of its own that dies with it and with the application.

    Created inside its job in one step: ``CreateProcessW`` with the job in its
    attribute list (``PROC_THREAD_ATTRIBUTE_JOB_LIST``, with the handles it inherits
    in ``PROC_THREAD_ATTRIBUTE_HANDLE_LIST``), so the process is in the job before
    its first thread exists; an application dying at any point of the start,
    inside ``CreateProcess`` too, leaves nothing behind. The job's handle is ours
    alone (not inheritable); when it closes — ``release`` after the worker is
    reaped, or the application's death — Windows kills every process left in the
    job (``KILL_ON_JOB_CLOSE``).

    Where Windows refuses the attribute (before Windows 10: ``one_step_jobs``),
    the worker is put in the job as soon as ``CreateProcess`` returns; it starts
    nothing before the parent sends it its start-up data (after this), so nothing
    it starts can escape the job. Not started suspended there (``CREATE_SUSPENDED``,
    then resumed): an application that dies between the start and the job would
    leave that suspended worker behind for ever; a running worker whose
    application died before it was in the job reads the end of its channel and
    exits (``_child.main``). What that path cannot close: an application dying
    inside ``CreateProcess``, which resumes the new thread before it returns.
    """

    #: Never true on Windows: a process handle keeps the exit status for us.
    reaped_elsewhere = False
    #: The workers this process started, by pid (``Windows.set_idle`` acts through their
    #: handle; a pid cannot be reused while the handle Popen holds is open).
    started: weakref.WeakValueDictionary[int, JobProcess] = weakref.WeakValueDictionary()

    def __init__(self, args: Sequence[str], *, handles: Sequence[int] = (), **kwargs: Any) -> None:
        self._job_lock = threading.Lock()
        # Invariant (under _job_lock): _job is our open job handle until release(); the
        # worker process and everything it started are in it.
        self._job: int | None = _new_job()
        self.suspended = False
        #: Was the worker created inside its job (one step), rather than put in it after?
        self.created_in_job = False
        info = subprocess.STARTUPINFO(lpAttributeList={"handle_list": list(handles)}) if handles else None
        try:
            super().__init__(args, startupinfo=info, close_fds=True, **kwargs)
        except BaseException:
            self._close_job()
            raise
        if self.created_in_job and not _in_job(int(self._handle), self._job):
            self.created_in_job = False  # (a Windows that took the attribute but ignored it)
        if not self.created_in_job and not _kernel32.AssignProcessToJobObject(
            self._job,
            int(self._handle),
        ):
            error = _failed("AssignProcessToJobObject")
            self._kill_outside_job()
            raise error
        JobProcess.started[self.pid] = self

    def _execute_child(  # (Popen's private start, Windows version)
        self,
        args: Any,
        executable: Any,
        preexec_fn: Any,
        close_fds: bool,
        pass_fds: Any,
        cwd: Any,
        env: Any,
        startupinfo: Any,
        creationflags: int,
        shell: bool,
        p2cread: Any,
        p2cwrite: Any,
        c2pread: Any,
        c2pwrite: Any,
        errread: Any,
        errwrite: Any,
        *unused: Any,
    ) -> None:
        """Create the worker inside its job in one step where Windows can; else ``Popen``'s own start."""
        global one_step_jobs
        if one_step_jobs is not False and not shell and not pass_fds and self._job is not None:
            refused = False
            try:
                self._create_in_job(
                    args, executable, cwd, env, startupinfo, creationflags, close_fds, (p2cread, c2pwrite, errwrite)
                )
            except _JobListRefused:
                refused = True  # (nothing created: Popen's own start below uses the pipes)
            finally:
                if not refused:  # the child has them now, or the start failed
                    self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)  # type: ignore[attr-defined]
            one_step_jobs = not refused
            if not refused:
                self.created_in_job = True
                return
        super()._execute_child(  # type: ignore[misc]
            args,
            executable,
            preexec_fn,
            close_fds,
            pass_fds,
            cwd,
            env,
            startupinfo,
            creationflags,
            shell,
            p2cread,
            p2cwrite,
            c2pread,
            c2pwrite,
            errread,
            errwrite,
            *unused,
        )

    def _create_in_job(
        self,
        args: Any,
        executable: Any,
        cwd: Any,
        env: dict[str, str] | None,
        startupinfo: subprocess.STARTUPINFO | None,
        creationflags: int,
        close_fds: bool,
        std: tuple[Any, Any, Any],
    ) -> None:
        """``CreateProcessW`` with our job (and the handles to inherit) in its attribute list.

        ``_JobListRefused`` before anything is created when Windows has no job list.
        The standard handles and the handle list are chosen as ``Popen`` chooses them.
        """
        assert self._job is not None
        command = args if isinstance(args, str) else subprocess.list2cmdline(args)
        info = _StartupInfoEx()
        info.StartupInfo.cb = ctypes.sizeof(_StartupInfoEx)
        inherit: list[int] = []
        if startupinfo is not None:
            inherit = [int(h) for h in (startupinfo.lpAttributeList or {}).get("handle_list", ())]
        if -1 not in std:
            info.StartupInfo.dwFlags |= STARTF_USESTDHANDLES
            info.StartupInfo.hStdInput, info.StartupInfo.hStdOutput, info.StartupInfo.hStdError = map(int, std)
            if close_fds or inherit:
                inherit += [int(h) for h in std]
        # (as Popen: no console pseudo-handles, no duplicates)
        inherit = sorted({h for h in inherit if h & 0x3 != 0x3 or _winapi.GetFileType(h) != _winapi.FILE_TYPE_CHAR})
        inherits = bool(inherit) or not close_fds
        count = 2 if inherit else 1
        size = ctypes.c_size_t(0)
        _kernel32.InitializeProcThreadAttributeList(None, count, 0, ctypes.byref(size))  # (asks the size)
        attributes = (ctypes.c_byte * size.value)()
        if not _kernel32.InitializeProcThreadAttributeList(attributes, count, 0, ctypes.byref(size)):
            raise _JobListRefused(ctypes.FormatError(ctypes.get_last_error()))
        try:
            jobs = (wintypes.HANDLE * 1)(self._job)
            if not _kernel32.UpdateProcThreadAttribute(
                attributes, 0, PROC_THREAD_ATTRIBUTE_JOB_LIST, jobs, ctypes.sizeof(jobs), None, None
            ):
                raise _JobListRefused(ctypes.FormatError(ctypes.get_last_error()))
            handle_list = (wintypes.HANDLE * max(1, len(inherit)))(*inherit)
            if inherit and not _kernel32.UpdateProcThreadAttribute(
                attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handle_list, ctypes.sizeof(handle_list), None, None
            ):
                raise _failed("UpdateProcThreadAttribute(PROC_THREAD_ATTRIBUTE_HANDLE_LIST)")
            info.lpAttributeList = ctypes.addressof(attributes)
            line = ctypes.create_unicode_buffer(command)  # (CreateProcessW may write into it)
            block = _environment_block(env)
            exe = None if executable is None else os.fsdecode(executable)
            directory = None if cwd is None else os.fsdecode(cwd)
            sys.audit("subprocess.Popen", exe, command, directory, env)
            created = _ProcessInformation()
            flags = creationflags | EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT
            if not _kernel32.CreateProcessW(
                exe, line, None, None, inherits, flags, block, directory, ctypes.byref(info), ctypes.byref(created)
            ):
                raise _failed("CreateProcessW")
        finally:
            _kernel32.DeleteProcThreadAttributeList(attributes)
        _kernel32.CloseHandle(created.hThread)
        self._child_created = True
        self._handle = subprocess.Handle(created.hProcess)  # type: ignore[attr-defined]
        self.pid = int(created.dwProcessId)

    def _kill_outside_job(self) -> None:
        """The job could not take the worker: end it (it has started nothing yet) and close the job."""
        _winapi.TerminateProcess(int(self._handle), KILLED_EXIT_CODE)
        super().wait(30.0)  # (ends at once: a hang guard)
        self._close_job()

    def set_priority_class(self, priority: int) -> bool:
        """Put the worker in a priority class (through our handle of it); False once it has ended."""
        if self.returncode is not None:
            return False
        return bool(_kernel32.SetPriorityClass(int(self._handle), priority))

    def kill_tree(self) -> None:
        """Kill the worker and every process in its job (what its tasks started)."""
        with self._job_lock:
            if self._job is not None:
                _kernel32.TerminateJobObject(self._job, KILLED_EXIT_CODE)

    def suspend_tree(self, stop: bool) -> None:
        """Suspend (``stop``) or resume every process in the job."""
        call = _ntdll.NtSuspendProcess if stop else _ntdll.NtResumeProcess
        with self._job_lock:
            if self._job is None or self.suspended == stop:
                return
            self.suspended = stop
            handles = _job_processes(self._job)
            for handle in handles:
                try:
                    call(handle)
                finally:
                    _kernel32.CloseHandle(handle)
        if not handles and self.returncode is None:
            logging.getLogger("tasker").warning(
                "tasker: could not %s worker process %d: no process of its job could be opened and "
                "proven in it (access rights?)",
                "suspend" if stop else "resume",
                self.pid,
            )

    def poll(self) -> int | None:
        """The exit code once it has ended (what it started is killed first), else None."""
        code = super().poll()
        if code is not None:
            self.kill_tree()
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = super().wait(timeout)
        self.kill_tree()
        return code

    def rss(self) -> int | None:
        """The worker's working set in bytes (None once it is gone)."""
        if self.returncode is not None:
            return None
        counters = _MemoryCounters(cb=ctypes.sizeof(_MemoryCounters))
        handle = int(self._handle)
        if not _kernel32.K32GetProcessMemoryInfo(handle, ctypes.byref(counters), counters.cb):
            return None
        return int(counters.WorkingSetSize)

    def release(self) -> None:
        """Close the job once the worker is reaped: what is left in it is killed (idempotent)."""
        if self.returncode is not None:
            self._close_job()

    def _close_job(self) -> None:
        with self._job_lock:
            job, self._job = self._job, None
        if job is not None:
            _kernel32.CloseHandle(job)

    def __del__(self) -> None:
        if getattr(self, "_job_lock", None) is not None:
            self._close_job()
        super().__del__()


def _environment_block(env: dict[str, str] | None) -> ctypes.Array[ctypes.c_wchar] | None:
    """``CreateProcessW``'s Unicode environment block: ``name=value\\0`` sorted by name, then ``\\0``."""
    if env is None:
        return None
    entries = []
    for name, value in env.items():
        name, value = os.fsdecode(name), os.fsdecode(value)
        if not name or "=" in name[1:] or "\0" in name or "\0" in value:
            raise ValueError(f"illegal environment variable name or value: {name!r}")
        entries.append((name.upper(), f"{name}={value}\0"))
    block = "".join(entry for _, entry in sorted(entries)) + "\0"
    return ctypes.create_unicode_buffer(block, len(block) + 1)


def _new_job() -> int:
    job = _kernel32.CreateJobObjectW(None, None)
    if not job:
        raise _failed("CreateJobObjectW")
    limits = _ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    if not _kernel32.SetInformationJobObject(
        job, _EXTENDED_LIMIT_INFORMATION, ctypes.byref(limits), ctypes.sizeof(limits)
    ):
        error = _failed("SetInformationJobObject")
        _kernel32.CloseHandle(job)
        raise error
    return int(job)


def _in_job(handle: int, job: int) -> bool:
    inside = wintypes.BOOL(False)
    return bool(_kernel32.IsProcessInJob(handle, job, ctypes.byref(inside)) and inside.value)


def _job_processes(job: int) -> list[int]:
    """Handles (suspend/resume, query) of the processes in ``job``, each proven to be in it."""
    pids = _PidList()
    if not _kernel32.QueryInformationJobObject(
        job, _BASIC_PROCESS_ID_LIST, ctypes.byref(pids), ctypes.sizeof(pids), None
    ):
        return []
    handles = []
    for index in range(pids.NumberOfProcessIdsInList):
        handle = _kernel32.OpenProcess(
            PROCESS_SUSPEND_RESUME | PROCESS_QUERY_INFORMATION | PROCESS_QUERY_LIMITED_INFORMATION,
            False,
            int(pids.ProcessIdList[index]),
        )
        if not handle:
            continue  # ended meanwhile
        if _in_job(handle, job):
            handles.append(int(handle))
        else:  # the pid was freed and given to a process that is not ours
            _kernel32.CloseHandle(handle)
    return handles


def job_pids(proc: JobProcess) -> set[int]:
    """The pids of the processes in the worker's job now (for tests and diagnostics)."""
    with proc._job_lock:
        if proc._job is None:
            return set()
        pids = _PidList()
        if not _kernel32.QueryInformationJobObject(
            proc._job, _BASIC_PROCESS_ID_LIST, ctypes.byref(pids), ctypes.sizeof(pids), None
        ):
            raise _failed("QueryInformationJobObject")
        return {int(pids.ProcessIdList[i]) for i in range(pids.NumberOfProcessIdsInList)}


def lower_priority(nice: int) -> None:
    """``worker_nice`` in a worker: its priority class, which the processes it starts inherit."""
    priority = IDLE_PRIORITY_CLASS if nice >= IDLE_NICE else BELOW_NORMAL_PRIORITY_CLASS
    if not _kernel32.SetPriorityClass(_winapi.GetCurrentProcess(), priority):
        raise _failed("SetPriorityClass")


def priority_class(handle: int) -> int:
    """A process's priority class (``GetPriorityClass``; 0 if it cannot be read): for tests."""
    return int(_kernel32.GetPriorityClass(handle))


def interpreter() -> tuple[str, dict[str, str]]:
    """The python.exe to start workers with, and what its environment needs.

    A venv's ``python.exe`` is a launcher that runs the base interpreter as its own
    child: the worker's pid, handle and memory would be the launcher's. Like
    ``multiprocessing``, start the base interpreter and tell it the venv's.
    """
    base = getattr(sys, "_base_executable", sys.executable)
    if sys.prefix != sys.base_prefix and base and os.path.normcase(base) != os.path.normcase(sys.executable):
        return base, {"__PYVENV_LAUNCHER__": sys.executable}
    return sys.executable, {}


def _own_rss() -> int:
    counters = _MemoryCounters(cb=ctypes.sizeof(_MemoryCounters))
    if not _kernel32.K32GetProcessMemoryInfo(_winapi.GetCurrentProcess(), ctypes.byref(counters), counters.cb):
        return 0
    return int(counters.WorkingSetSize)


class Windows:
    """``_base.Platform`` on Windows (see the module docstring)."""

    name = "windows"
    shares_payloads = False  # in band over the pipe: no descriptors travel with a message
    killed_code = KILLED_EXIT_CODE  # what ``returncode`` says of a worker whose job was terminated
    features = Features(
        name="windows",
        channel="duplex named pipe made inside the parent; the worker's end inherited by it alone",
        shared_memory="cancel flags: mmap with a random tag; payloads in band over the pipe",
        tree_kill="a Job Object per worker (KILL_ON_JOB_CLOSE): TerminateJobObject",
        pause="NtSuspendProcess / NtResumeProcess of every process in the job",
        parent_death="the job's only handle is the parent's: Windows kills the job when the app dies",
        memory="K32GetProcessMemoryInfo (working set) through the worker's handle",
        proof="process handles; a job member opened by pid only if IsProcessInJob",
    )

    # -- parent side ------------------------------------------------------------------
    def lifeline(self) -> Lifeline:
        return Lifeline(Handoff("-"))  # (the Job Object is the lifeline: nothing to hand over)

    def channel_pair(self) -> tuple[PipeChannel, Handoff]:
        channel, handle = open_channel()
        return channel, Handoff(str(handle), (handle,), close_handle)

    def control_memory(self, size: int) -> tuple[mmap.mmap, Handoff]:
        memory, tag = control_memory(size)
        return memory, Handoff(tag)

    def spawn(self, argv: list[str], inherit: Sequence[int], env: dict[str, str]) -> JobProcess:
        if argv and argv[0] == sys.executable:
            exe, extra = interpreter()
            argv, env = [exe, *argv[1:]], {**env, **extra}
        return JobProcess(argv, handles=inherit, stdin=subprocess.DEVNULL, env=env)

    def frozen_boot(self, data: bytes) -> tuple[list[str], Handoff]:
        """A pipe whose read end the worker inherits: ``spawn_main(pipe_handle=N)`` duplicates it there.

        (No ``parent_pid``: the handle is the worker's own, not one to take from the parent.)
        """
        read_end, write_end = _winapi.CreatePipe(None, 0)
        try:
            _winapi.WriteFile(write_end, data)  # a few hundred bytes: the pipe holds them, no blocking
        except BaseException:
            _winapi.CloseHandle(read_end)
            raise
        finally:
            _winapi.CloseHandle(write_end)
        os.set_handle_inheritable(read_end, True)
        return [f"pipe_handle={read_end}"], Handoff(str(read_end), (read_end,), close_handle)

    def set_idle(self, tid: int, idle: bool) -> bool:
        """Idle priority or back: 0, the calling thread; a worker this process started (its
        priority class, through its handle); a thread of this process (this whole process's
        class: a booting worker restoring itself). False for any other id.
        """
        if tid == 0:
            level = THREAD_PRIORITY_IDLE if idle else THREAD_PRIORITY_NORMAL
            return bool(_kernel32.SetThreadPriority(_kernel32.GetCurrentThread(), level))
        priority = IDLE_PRIORITY_CLASS if idle else NORMAL_PRIORITY_CLASS
        worker = JobProcess.started.get(tid)
        if worker is not None:
            return worker.set_priority_class(priority)
        if tid in {thread.native_id for thread in threading.enumerate()}:
            return bool(_kernel32.SetPriorityClass(_winapi.GetCurrentProcess(), priority))
        return False

    # -- large payloads: not shared here (``shares_payloads``) ---------------------------
    def payload_segment(self, data: memoryview) -> int:
        raise NotImplementedError("payloads travel in band on Windows (shares_payloads is False)")

    def map_segment(self, handle: int) -> Any:
        raise NotImplementedError("payloads travel in band on Windows (shares_payloads is False)")

    def close_handle(self, handle: int) -> None:
        try:
            close_handle(handle)
        except OSError:
            pass

    # -- worker side ------------------------------------------------------------------
    def worker_channel(self, arg: str) -> PipeChannel:
        return child_channel(int(arg))

    def worker_control(self, arg: str, size: int) -> mmap.mmap:
        return open_control_memory(arg, size)

    def watch_parent(self, arg: str) -> None:
        """Nothing to start: the worker is in a Job Object that dies with the parent's handle of it.

        (``_base.EXIT_PARENT_GONE`` is never seen here: Windows ends the job's processes itself.)
        """
        del arg

    def own_rss(self) -> Callable[[], int] | None:
        return _own_rss


PLATFORM: Platform = Windows()
