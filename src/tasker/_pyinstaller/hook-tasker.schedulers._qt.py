"""Bundle Qt only when the application itself imports it (a Qt app)."""

excludedimports = ["PySide6", "PyQt6"]
