"""The worker kit: what every remote runner (process, cluster) shares.

A remote runner runs a task's function in another interpreter and brings the
function's progress, events, questions, log records, warnings and outcome back
to the app's lifecycle. Everything but the transport and the pool policy is
here, once (docs/architecture.md, "The worker kit", draws the whole flow):

    worker side                                  app side
    ───────────                                  ────────
    _cell.py     WorkerCell (the context's       _relay.py   Relay: decoded messages →
                 cell), Reporter (throttled                  lifecycle calls
                 progress thread)
    _codec.py    describe_error, log_fields,     _codec.py   rebuild_error, log_record
                 warning_fields
    _messages.py Kind: every message, one letter each; decode checks a message's shape
    _payload.py  pickles: by value where needed, big buffers in shared memory

A runner package (``process``, ``cluster``) imports from here and never from
another runner's private modules (``scripts/check_imports.py`` refuses that).
Nothing here imports a transport: the worker side loads in a worker process
without the app's pool, the app side without Dask.
"""
