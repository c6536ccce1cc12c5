"""Drop-in replacements for other task managers' APIs, built on tasker's core.

* ``tasker.compat.rayforge`` — Rayforge 1.13.1's ``rayforge.shared.tasker``.
"""
