"""Bundle Tk only when the application itself imports it (a Tk app)."""

excludedimports = ["tkinter"]
