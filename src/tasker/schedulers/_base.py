"""The scheduler interface: how a callable reaches the application's main thread."""

from __future__ import annotations

from collections.abc import Callable


class Scheduler:
    """Runs callables later on the main thread, one at a time, in order.

    A scheduler is one small object. ``call_soon`` may be called from any
    thread. ``pump`` lets code running *on* the main thread (for example
    ``wait_until_settled``) process callbacks while it waits; schedulers that
    cannot do that return False.
    """

    name = "base"

    def call_soon(self, fn: Callable[[], object]) -> None:
        raise NotImplementedError

    def pump(self, timeout: float) -> bool:
        """Run due callbacks for up to ``timeout`` s if on the main thread."""
        return False

    def close(self) -> None:
        """Release what the scheduler holds (threads); it may be used again."""


class CallableScheduler(Scheduler):
    """Adapts any ``f(fn, *args, **kwargs)`` that runs ``fn`` on the main thread later.

    ``GLib.idle_add`` fits, as does Rayforge's ``main_thread_scheduler`` option.
    """

    name = "callable"

    def __init__(self, post: Callable[..., object]) -> None:
        if not callable(post):
            raise TypeError(f"main_thread_scheduler must be callable, got {post!r}")
        self._post = post

    def call_soon(self, fn: Callable[[], object]) -> None:
        self._post(_once(fn))

    def __repr__(self) -> str:
        return f"CallableScheduler({self._post!r})"


def _once(fn: Callable[[], object]) -> Callable[..., bool]:
    """Wrap ``fn`` so a GLib-style source runs it once (returns False)."""

    def run(*_: object) -> bool:
        fn()
        return False

    return run
