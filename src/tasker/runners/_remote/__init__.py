"""The worker kit: what every remote runner (process, cluster) shares.

A remote runner runs a task's function in another interpreter and brings the
function's progress, events, questions, log records, warnings and outcome back
to the app's lifecycle. Everything but the transport and the pool policy is
here, once:

    _payload.py   pickles: by value where needed, big buffers in shared memory
    _codec.py     errors (even ones whose __str__/__reduce__ raise), log records,
                  warnings: described in the worker, rebuilt in the app

A runner package (``process``, ``cluster``) imports from here and never from
another runner's private modules (``scripts/check_imports.py`` refuses that).
"""
