"""Cluster tasks: ``run_on_cluster`` runs the same task functions on a Dask cluster.

    _runner.py   ClusterRunner: submit, cancel, forced stop, shutdown (the control thread)
    _forward.py  what workers and Dask report, to the lifecycle (the events thread)
    _events.py   the ordered event channel: sequence numbers, gaps, acks, the window
    _worker.py   what runs on a Dask worker: the task, its cell, its reports
    _connect.py  the cluster option → a Client ("local", an address, a Client); topics

Importing this package imports no dask: the client is made on the first task.
"""

from ._runner import ClusterRunner

__all__ = ["ClusterRunner"]
