"""The worker kit every remote runner shares (``tasker.runners._remote``), without workers.

What a worker describes (errors, records, warnings) travels over each real
transport's encoding — the process runner's pickles, the cluster runner's
signed msgpack envelope — and is rebuilt in the app; messages are decoded
with bad inputs; the app-side ``Relay`` drives a recording lifecycle; the
worker-side cell throttles on explicit times (no clock in an assertion).
"""

from __future__ import annotations

import logging
import pickle
import threading
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from tasker._core._cancelled import CancelledError
from tasker._core._errors import RemoteTaskError, RemoteTraceback
from tasker.runners._remote import _payload
from tasker.runners._remote._cell import Reporter, WorkerCell
from tasker.runners._remote._codec import describe_error, log_fields, log_record, rebuild_error, warning_fields
from tasker.runners._remote._messages import ARITY, KINDS, Kind, MessageError, decode
from tasker.runners._remote._relay import Relay

RUNNERS = ("process", "cluster")
KEY = b"k" * 32


def _over_process(fields: list[Any]) -> list[Any]:
    data, fds = _payload.dumps(("X", 0, *fields))
    message = _payload.loads(data, fds)
    return list(message[2:])


def _over_cluster(fields: list[Any]) -> list[Any]:
    pytest.importorskip("msgpack")
    from tasker.runners.cluster._events import authentic, pack, unpack

    msg = pack(KEY, Kind.FAILURE.value, "token", "run", 1, fields)
    assert authentic(KEY, msg)
    return unpack(msg["b"])


@pytest.fixture(params=RUNNERS)
def carry(request: pytest.FixtureRequest) -> Callable[[list[Any]], list[Any]]:
    """A list of plain fields, through the runner's own encoding and back."""
    return _over_process if request.param == "process" else _over_cluster


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


# -- errors ---------------------------------------------------------------------------------
# (Classes made by the tests that use them: a library that reduces every exception class
# known when it is installed, as Dask's tblib support does, must not decide what they do.)
def _picky() -> type[Exception]:
    class Picky(Exception):
        """Pickles, but its __init__ needs two arguments: it cannot be rebuilt."""

        def __init__(self, a: int, b: int) -> None:
            super().__init__(f"{a}/{b}")

    return Picky


class LoudStr(Exception):
    def __str__(self) -> str:
        raise KeyboardInterrupt("from __str__")


class LoudStrRepr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str")

    def __repr__(self) -> str:
        raise SystemExit("repr")


class LoudReduce(Exception):
    def __reduce__(self) -> Any:
        raise KeyboardInterrupt("from __reduce__")


def _fields(described: tuple[Any, ...]) -> list[Any]:
    return list(described)


def test_an_error_keeps_its_type_text_and_traceback(carry: Callable[[list[Any]], list[Any]]) -> None:
    described = describe_error(_raised(ValueError("bad value 7")))
    error = rebuild_error(tuple(carry(_fields(described))))
    assert type(error) is ValueError
    assert str(error) == "bad value 7"
    assert isinstance(error.__cause__, RemoteTraceback)
    assert "ValueError: bad value 7" in error.__cause__.tb
    assert "_raised" in error.__cause__.tb  # the worker's frames


def test_an_error_that_cannot_be_rebuilt_becomes_a_remote_task_error(
    carry: Callable[[list[Any]], list[Any]],
) -> None:
    picky = _picky()
    described = describe_error(_raised(picky(1, 2)))
    assert described[0] is None  # checked in the worker: it would not rebuild
    error = rebuild_error(tuple(carry(_fields(described))))
    assert type(error) is RemoteTaskError
    assert str(error) == f"{__name__}.{picky.__qualname__}: 1/2"


@pytest.mark.parametrize(
    ("broken", "said"),
    [
        (LoudStr(), ["its __str__ raised KeyboardInterrupt"]),
        (LoudStrRepr(), ["its __str__ raised RuntimeError", "its __repr__ raised SystemExit"]),
        (LoudReduce("kept text"), ["kept text", "pickling it raised KeyboardInterrupt"]),
    ],
    ids=["str", "str-and-repr", "reduce"],
)
def test_an_error_that_fights_back_is_described_and_arrives_as_remote_task_error(
    carry: Callable[[list[Any]], list[Any]], broken: BaseException, said: list[str]
) -> None:
    described = describe_error(_raised(broken))  # raises nothing, a KeyboardInterrupt neither
    assert described[0] is None
    error = rebuild_error(tuple(carry(_fields(described))))
    assert type(error) is RemoteTaskError
    text = str(error)
    assert text.startswith(f"{__name__}.{type(broken).__qualname__}: ")
    for part in said:
        assert part in text
    assert isinstance(error.__cause__, RemoteTraceback)


def test_rebuilding_bytes_that_do_not_unpickle_gives_a_remote_task_error() -> None:
    error = rebuild_error((b"not a pickle", "pkg.Kind", "its text", "Traceback ...\n"))
    assert type(error) is RemoteTaskError
    assert str(error) == "pkg.Kind: its text"


# -- log records and warnings ---------------------------------------------------------------------
class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_log_record_reaches_the_apps_logger_formatted(carry: Callable[[list[Any]], list[Any]]) -> None:
    worker_side = _Keep()
    worker_side.setFormatter(logging.Formatter("%(message)s"))
    try:
        raise OSError("disk full")
    except OSError:
        record = logging.LogRecord("tasker.test.kit", logging.WARNING, "job.py", 12, "%d of %s", (3, "x"), None)
        import sys

        record.exc_info = sys.exc_info()
    fields = log_fields(worker_side, record)
    assert all(isinstance(v, str | int | float | type(None)) for v in fields.values())
    (carried,) = carry([fields])
    app_side = _Keep()
    target = logging.getLogger("tasker.test.kit")
    target.addHandler(app_side)
    try:
        log_record(carried)
    finally:
        target.removeHandler(app_side)
    (got,) = app_side.records
    assert (got.name, got.levelno, got.getMessage(), got.lineno) == ("tasker.test.kit", logging.WARNING, "3 of x", 12)
    assert got.exc_text is not None and "OSError: disk full" in got.exc_text


def test_a_record_below_the_apps_level_is_dropped() -> None:
    app_side = _Keep()
    target = logging.getLogger("tasker.test.kit.quiet")
    target.addHandler(app_side)
    target.setLevel(logging.ERROR)
    try:
        log_record({"name": "tasker.test.kit.quiet", "levelno": logging.INFO, "msg": "hidden"})
    finally:
        target.removeHandler(app_side)
    assert app_side.records == []


def test_a_warning_travels_as_plain_fields(carry: Callable[[list[Any]], list[Any]]) -> None:
    fields = warning_fields(DeprecationWarning("old call"), DeprecationWarning, "job.py", 3)
    assert carry(list(fields)) == ["builtins", "DeprecationWarning", "old call", "job.py", 3]


# -- messages -----------------------------------------------------------------------------------
def test_relay_posts_a_generators_values_in_order(relay: tuple[Relay, Lifecycle]) -> None:
    r, lifecycle = relay
    task = Task()
    for value in (0, "one", b"\x02"):
        r.yielded(task, value)  # type: ignore[arg-type]
    assert lifecycle.calls == [("yield", task, 0), ("yield", task, "one"), ("yield", task, b"\x02")]


def test_every_kind_has_its_own_letter_and_a_field_count() -> None:
    letters = [kind.value for kind in Kind]
    assert len(set(letters)) == len(letters) and all(len(letter) == 1 for letter in letters)
    assert set(ARITY) == set(Kind)
    assert KINDS["G"] is Kind.YIELD  # a generator task's values


@pytest.mark.parametrize("kind", [k for k in Kind if ARITY[k] is not None], ids=lambda k: k.name)
def test_a_message_of_the_right_shape_decodes_over_both_transports(
    carry: Callable[[list[Any]], list[Any]], kind: Kind
) -> None:
    fields = [None] * (ARITY[kind] or 0)
    message = carry([kind.value, *fields])
    assert decode(message) is kind
    assert decode((kind.value, 42, *fields), skip=1) is kind  # the process runner's task id first


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (None, "not NoneType"),
        ((), "non-empty"),
        ("P", "not str"),
        (("?", 1, 2), "unknown message kind '?'"),
        ((7, 1, 2), "unknown message kind 7"),
        (("P", 0.5), "PROGRESS message has 1 field(s), not 2"),
        (("W", 1, 2, 3), "WITHDRAW message has 3 field(s), not 1"),
    ],
    ids=["none", "empty", "str", "unknown", "not-a-letter", "short", "long"],
)
def test_a_malformed_message_is_refused_naming_why(message: Any, why: str) -> None:
    with pytest.raises(MessageError) as raised:
        decode(message)
    assert why in str(raised.value)


def test_pickling_a_letter_costs_no_class_reference() -> None:
    # What the process runner sends: the letter is a plain str (an enum member would not be).
    from tasker.runners.process import _messages

    assert type(_messages.PROGRESS) is str and _messages.PROGRESS == Kind.PROGRESS
    assert b"Kind" not in pickle.dumps((_messages.PROGRESS, 1, 0.5, None), protocol=5)


# -- the app-side relay ---------------------------------------------------------------------------
class Lifecycle:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def report(self, task: Any, progress: float, message: str | None) -> None:
        self.calls.append(("report", task, progress, message))

    def post_event(self, task: Any, name: str, data: Any) -> None:
        self.calls.append(("event", task, name, data))

    def post_question(self, task: Any, question: Any) -> None:
        self.calls.append(("question", task, question))

    def post_yield(self, task: Any, value: Any) -> None:
        self.calls.append(("yield", task, value))

    def post_warning(self, task: Any, *fields: Any) -> None:
        self.calls.append(("warning", task, *fields))

    def conclude(self, task: Any, result: Any = None, error: BaseException | None = None) -> bool:
        self.calls.append(("conclude", task, result, error))
        return True


class Task:
    def __init__(self) -> None:
        self.final = False

    def is_final(self) -> bool:
        return self.final


@pytest.fixture
def relay() -> tuple[Relay, Lifecycle]:
    lifecycle = Lifecycle()
    return Relay(lifecycle), lifecycle  # type: ignore[arg-type]


def test_relay_reports_progress_of_a_live_task_only(relay: tuple[Relay, Lifecycle]) -> None:
    r, lifecycle = relay
    task = Task()
    r.progress(task, 0.5, "half")  # type: ignore[arg-type]
    task.final = True
    r.progress(task, 0.9, "late")  # type: ignore[arg-type]
    assert lifecycle.calls == [("report", task, 0.5, "half")]


def test_relay_posts_events_and_warnings(relay: tuple[Relay, Lifecycle]) -> None:
    r, lifecycle = relay
    task = Task()
    r.event(task, "row", {"n": 1})  # type: ignore[arg-type]
    r.warning(None, "builtins", "UserWarning", "careful", "job.py", 4)
    assert lifecycle.calls == [
        ("event", task, "row", {"n": 1}),
        ("warning", None, "builtins", "UserWarning", "careful", "job.py", 4),
    ]


def test_relay_question_answer_goes_back_by_number_once(relay: tuple[Relay, Lifecycle]) -> None:
    r, lifecycle = relay
    task, questions, sent = Task(), {}, []  # type: ignore[var-annotated]
    r.question(task, questions, 3, "name?", {"x": 1}, lambda *answer: sent.append(answer))  # type: ignore[arg-type]
    (_, _, question), = lifecycle.calls
    assert (question.name, question.data) == ("name?", {"x": 1}) and questions == {3: question}
    assert question.answer("Ada") is True
    assert question.answer("again") is False
    assert sent == [(3, "Ada", None)] and questions == {}


def test_relay_answers_a_question_of_a_task_that_is_gone_with_canceled(relay: tuple[Relay, Lifecycle]) -> None:
    r, lifecycle = relay
    questions: dict[int, Any] = {}
    sent: list[tuple[Any, ...]] = []
    r.question(None, questions, 5, "name?", None, lambda *answer: sent.append(answer))
    assert lifecycle.calls == [] and questions == {}
    ((number, value, error),) = sent
    assert (number, value) == (5, None) and isinstance(error, CancelledError)


def test_relay_withdraws_an_open_question_and_ignores_unknown_numbers(relay: tuple[Relay, Lifecycle]) -> None:
    r, _ = relay
    questions: dict[int, Any] = {}
    sent: list[tuple[Any, ...]] = []
    r.question(Task(), questions, 1, "q", None, lambda *answer: sent.append(answer))  # type: ignore[arg-type]
    question = questions[1]
    r.withdraw(questions, 1)
    r.withdraw(questions, 99)
    assert questions == {} and question.answer("late") is False and sent == []


def test_relay_concludes_with_the_value_or_the_rebuilt_error(
    relay: tuple[Relay, Lifecycle], carry: Callable[[list[Any]], list[Any]]
) -> None:
    r, lifecycle = relay
    ok, failed = Task(), Task()
    r.conclude(ok, False, 42)  # type: ignore[arg-type]
    r.conclude(failed, True, tuple(carry(list(describe_error(_raised(KeyError("k")))))))  # type: ignore[arg-type]
    assert lifecycle.calls[0] == ("conclude", ok, 42, None)
    _, task, result, error = lifecycle.calls[1]
    assert task is failed and result is None and type(error) is KeyError


# -- the worker-side cell ------------------------------------------------------------------------
class CountingCell(WorkerCell):
    runner = "test"

    def __init__(self, reporter: Reporter) -> None:
        super().__init__(reporter)
        self.reports: list[tuple[float, str | None]] = []
        self.reported = threading.Event()

    def report(self) -> None:
        self._dirty = False
        self.reports.append((self._progress, self._message))
        self.reported.set()


def test_a_cell_reports_at_most_once_per_interval_on_explicit_times() -> None:
    cell = CountingCell(Reporter(0.05, lambda: ()))
    assert cell.tick(10.0, 0.05) is None and cell.reports == []  # nothing changed
    cell._progress = 0.1
    cell._changed()
    assert cell.tick(10.0, 0.05) is None and cell.reports == [(0.1, None)]
    cell._progress = 0.2
    cell._changed()
    assert cell.tick(10.01, 0.05) == pytest.approx(10.05)  # too soon: look again then
    assert cell.reports == [(0.1, None)]
    assert cell.tick(10.05, 0.05) is None and cell.reports == [(0.1, None), (0.2, None)]


def test_the_reporter_thread_sends_a_change() -> None:
    cells: list[CountingCell] = []
    reporter = Reporter(0.0, lambda: cells, name="tasker-test-reporter")
    cell = CountingCell(reporter)
    cells.append(cell)
    reporter.start()
    try:
        cell._message = "working"
        cell._changed()
        assert cell.reported.wait(30)
        assert cell.reports[0] == (0.0, "working")
    finally:
        reporter.stop()
    assert not reporter.thread.is_alive()


class TickingCell(CountingCell):
    def __init__(self, reporter: Reporter) -> None:
        super().__init__(reporter)
        self.ticks = 0

    def tick(self, now: float, interval: float) -> float | None:
        self.ticks += 1
        return super().tick(now, interval)


def test_a_throttled_reporter_sleeps_through_a_flood_of_changes() -> None:
    # A task that sets its progress in a tight loop wakes the reporter on every call;
    # while the next report is not due, the reporter must not look again each time.
    cells: list[TickingCell] = []
    reporter = Reporter(3600.0, lambda: cells, name="tasker-test-reporter")
    cell = TickingCell(reporter)
    cells.append(cell)
    reporter.start()
    try:
        cell._changed()
        assert cell.reported.wait(30)
        for i in range(200_000):  # the GIL passes to the reporter many times meanwhile
            cell._progress = i
            cell._changed()
    finally:
        reporter.stop()
    assert cell.reports == [(0.0, None)]  # the next report is an hour away
    assert cell.ticks <= 3, f"the reporter looked {cell.ticks} times while throttled"


def _cells() -> list[WorkerCell]:
    from tasker.runners.cluster._worker import Cell as ClusterCell
    from tasker.runners.process._link import Cell as ProcessCell

    class Link:
        reporter = Reporter(0.05, lambda: ())

    return [
        ProcessCell(Link(), 1),  # type: ignore[arg-type]
        ClusterCell(Reporter(0.05, lambda: ()), None, "topic", "token", 4, KEY, "run"),
    ]


@pytest.mark.parametrize("index", [0, 1], ids=RUNNERS)
def test_a_remote_cell_refuses_coroutine_only_calls_naming_its_runner(index: int) -> None:
    import asyncio

    cell = _cells()[index]
    with pytest.raises(TypeError, match=f"a {RUNNERS[index]} task"):
        asyncio.run(cell._checkpoint())
    with pytest.raises(TypeError, match=f"a {RUNNERS[index]} task calls context.ask"):
        asyncio.run(cell._ask_async("q", None, None))


def test_describing_never_warns_or_raises_for_a_warning_instance() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        described = describe_error(_raised(UserWarning("as an exception")))
    assert type(rebuild_error(described)) is UserWarning
