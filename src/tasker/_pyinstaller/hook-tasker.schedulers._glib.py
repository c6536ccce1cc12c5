"""Bundle GLib only when the application itself imports it (a GTK app)."""

excludedimports = ["gi"]
