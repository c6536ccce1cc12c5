"""Tests of tasker.compat.rayforge: Rayforge 1.13.1's tasker API on tasker's core."""
