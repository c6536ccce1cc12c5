"""Runners: what executes the tasks of each kind.

    runners/
      _inprocess.py   the run template of threads and coroutines: begin → call → conclude
      _threads.py     "thread": a bounded pool of threads, stuck ones released or abandoned
      _coroutines.py  "coroutine": asyncio tasks on tasker's own loop (``_hub``)
      _remote/        the worker kit the remote runners share (messages, cell, relay, codec)
      process/        "process": a warm pool of worker processes (see its package doc)
      cluster/        "cluster": the same task functions on a Dask cluster

A runner only executes; it talks to the lifecycle through the ``Lifecycle``
protocol and is built by kind from ``tasker._core._runner.RUNNERS``, which
holds each factory's ``"module:attribute"`` name: ``_core`` imports no runner.
"""
