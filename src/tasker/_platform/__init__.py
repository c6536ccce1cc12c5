"""What the process engine asks of the operating system, one module per platform (``_windows``)."""
