"""Bundle the Qt binding the application imports, not both (PyInstaller refuses two)."""

excludedimports = ["PySide6", "PyQt6", "shiboken6"]
