"""tasker's core: the task lifecycle, delivery to the main thread, the manager."""
