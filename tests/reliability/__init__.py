"""tasker's reliability suite: faults, chaos, soak, parent death, model, security.

The short version runs with the normal suite. The full version:

    TASKER_FULL=1 scripts/test tests/reliability -q

See docs/reliability.md for what each part tries and the figures measured.
"""
