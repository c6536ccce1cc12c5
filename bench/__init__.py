"""Side-by-side benchmark harness for tasker (SPEC section 7).

Run ``python -m bench`` from the repository root; see ``docs/bench-method.md``.
This package must stay cheap to import: worker processes of every pool may
import it again (``bench.workloads`` holds the task functions they unpickle).
"""
