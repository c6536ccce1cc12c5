"""What a worker's failures, log records and warnings become on their way to the app.

    worker (any remote runner)                     the app
    ──────────────────────────                     ───────
    describe_error(exc) ─► Described ─────────────► rebuild_error(described) ─► the exception,
      (pickled or None, "module.Type",               its type kept where it rebuilds,
       text, formatted traceback)                    else RemoteTaskError; the worker's
                                                     traceback as its __cause__
    log_fields(handler, record) ─► dict ──────────► log_record(fields) ─► the app's loggers
    warning_fields(...) ─► (module, qualname, ────► lifecycle.post_warning ─► re-issued
        text, filename, lineno)                      (``_core._warn``)

Everything here is plain data (``str``, ``int``, ``float``, ``None``, ``bytes``) so that
every transport can carry it: the process runner pickles it over its socket, the
cluster runner msgpacks it into HMAC-signed Dask events. ``describe_error`` survives
an exception that fights back (its ``__str__``, ``__repr__`` or ``__reduce__`` raising
anything, a ``KeyboardInterrupt`` too): the text says what could not be done, and
the app gets a ``RemoteTaskError``. ``rebuild_error`` unpickles only bytes the app's
own worker made (the transport authenticates them first).
"""

from __future__ import annotations

from . import _payload

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    import logging
    from typing import Any

#: A described error: (pickled exception or None, "module.Type", its text, its formatted traceback).
Described = tuple[bytes | None, str, str, str]


def describe_error(error: BaseException) -> Described:
    """(pickled error or None, type name, message, formatted traceback); never raises."""
    cls = type(error)
    try:
        kind = f"{cls.__module__}.{cls.__qualname__}"
    except BaseException:
        kind = object.__repr__(cls)
    failed: list[str] = []
    text = _text_of(error, failed)
    try:
        import traceback  # (here: a worker's boot imports neither traceback nor logging)

        trace = "".join(traceback.format_exception(error))
    except BaseException as problem:
        failed.append(f"formatting its traceback raised {type(problem).__name__}")
        trace = _bare_traceback(error, kind)
    pickled: bytes | None = None
    try:
        data, fds = _payload.dumps_portable(error)
        _payload.close_fds(fds)
        if not fds:
            _payload.loads(data, [])  # it must rebuild, too (custom __init__ often breaks)
            pickled = data
    except Exception:
        pickled = None  # (the common case: the app says it could not be rebuilt)
    except BaseException as problem:  # raised by the exception's own pickling code
        failed.append(f"pickling it raised {type(problem).__name__}")
        pickled = None
    if failed:
        pickled = None  # it fought back once: the app gets a plain RemoteTaskError
        text = f"{text} ({'; '.join(failed)})" if text else f"({'; '.join(failed)})"
    return (pickled, kind, text, trace)


def _text_of(error: BaseException, failed: list[str]) -> str:
    """``str(error)``, else its ``repr()``, else "" — noting in ``failed`` what raised."""
    try:
        return str(error)
    except BaseException as problem:
        failed.append(f"its __str__ raised {type(problem).__name__}")
    try:
        return repr(error)
    except BaseException as problem:
        failed.append(f"its __repr__ raised {type(problem).__name__}")
    return ""


def _bare_traceback(error: BaseException, kind: str) -> str:
    """The traceback's frames without the exception's own text (``format_exception`` raised)."""
    try:
        import traceback

        frames = "".join(traceback.format_tb(error.__traceback__))
    except BaseException:
        frames = ""
    return f"Traceback (most recent call last):\n{frames}{kind}\n"


def rebuild_error(described: tuple[Any, ...]) -> BaseException:
    """The worker's exception with its type when possible, its traceback kept."""
    from ..._core._errors import RemoteTaskError, RemoteTraceback

    pickled, type_name, text, tb = described
    error: BaseException | None = None
    if pickled is not None:
        try:
            error = _payload.loads(pickled, [])
        except BaseException:  # (its __setstate__ or __init__ is the application's: anything may come)
            error = None
    if isinstance(error, BaseException):
        try:
            error.__cause__ = RemoteTraceback(tb)
            return error
        except BaseException:  # (a __setattr__ of the application's)
            pass
    remote = RemoteTaskError(f"{type_name}: {text}")
    remote.__cause__ = RemoteTraceback(tb)
    return remote


# -- log records ---------------------------------------------------------------------
def log_fields(handler: logging.Handler, record: logging.LogRecord) -> dict[str, Any]:
    """A record as plain fields (its message formatted) that ``logging.makeLogRecord`` rebuilds."""
    fields = dict(record.__dict__)
    fields["msg"] = record.getMessage()
    fields["args"] = None
    if record.exc_info:
        fields["exc_text"] = handler.format(record) if not record.exc_text else record.exc_text
    fields["exc_info"] = None
    return {k: v for k, v in fields.items() if isinstance(v, str | int | float | type(None))}


def log_record(fields: dict[str, Any]) -> None:
    """In the app: a worker's record, handed to the app's logger of the same name."""
    import logging

    record = logging.makeLogRecord(fields)
    target = logging.getLogger(record.name)
    if target.isEnabledFor(record.levelno):
        target.handle(record)


# -- warnings ---------------------------------------------------------------------------
Warned = tuple[str, str, str, str, int]


def warning_fields(message: Warning | str, category: type[Warning], filename: str, lineno: int) -> Warned:
    """A warning as the plain fields the app re-issues it from: ``_core._warn.reissue``'s arguments."""
    return (category.__module__, category.__qualname__, str(message), str(filename), int(lineno))
