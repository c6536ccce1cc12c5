"""Stand-ins for the session's inhibit services on a private session bus (tests only).

``python fake_session.py LOG [session|portal|both]`` serves, from one process,
the places a ``Gtk.Application.inhibit`` can go (both by default), and writes each call to LOG as one JSON
line ``{"service": ..., "method": ..., "args": [...]}``:

* ``org.gnome.SessionManager`` (service ``"session"``): ``RegisterClient``,
  ``Inhibit`` (cookies 41, 42, ...), ``Uninhibit``, ``IsInhibited``, as the
  GNOME session manager answers them. GTK up to 4.18 calls it directly.
* ``org.freedesktop.portal.Desktop`` (service ``"portal"``): the
  ``org.freedesktop.portal.Inhibit`` interface (``version`` 3, ``Inhibit``
  returning a request handle, ``CreateMonitor`` returning a session handle)
  and ``org.freedesktop.portal.Request.Close`` on each handle it gave, which
  is how the portal's inhibit is released; and the host portal's
  ``org.freedesktop.host.portal.Registry`` (``Register``: the application's
  id), which GTK 4.24 calls first when it finds a portal outside a sandbox. Newer GTK (4.24 here) inhibits
  only through this portal, and only when the bus lists the portal's name as
  activatable (``ListActivatableNames``): the test's bus configuration has a
  service file for it (whose ``Exec`` starts this very stand-in).

It prints ``ready`` once the names it serves are its; the scenario that starts it
kills it by pid.
"""

from __future__ import annotations

import json
import sys
from itertools import count
from typing import Any

from gi.repository import Gio, GLib

SESSION_XML = """
<node>
  <interface name="org.gnome.SessionManager">
    <method name="RegisterClient">
      <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="o" direction="out"/>
    </method>
    <method name="Inhibit">
      <arg type="s" direction="in"/><arg type="u" direction="in"/>
      <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="u" direction="out"/>
    </method>
    <method name="Uninhibit"><arg type="u" direction="in"/></method>
    <method name="IsInhibited"><arg type="u" direction="in"/><arg type="b" direction="out"/></method>
  </interface>
</node>
"""

PORTAL_XML = """
<node>
  <interface name="org.freedesktop.portal.Inhibit">
    <method name="Inhibit">
      <arg type="s" direction="in"/><arg type="u" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="o" direction="out"/>
    </method>
    <method name="CreateMonitor">
      <arg type="s" direction="in"/><arg type="a{sv}" direction="in"/><arg type="o" direction="out"/>
    </method>
    <method name="QueryEndResponse"><arg type="o" direction="in"/></method>
    <property name="version" type="u" access="read"/>
  </interface>
  <interface name="org.freedesktop.host.portal.Registry">
    <method name="Register"><arg type="s" direction="in"/><arg type="a{sv}" direction="in"/></method>
    <property name="version" type="u" access="read"/>
  </interface>
</node>
"""

HANDLE_XML = """
<node>
  <interface name="org.freedesktop.portal.Request"><method name="Close"/></interface>
  <interface name="org.freedesktop.portal.Session"><method name="Close"/></interface>
</node>
"""

SESSION_NAME = "org.gnome.SessionManager"
PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"


def main() -> None:
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    names = {"session": [SESSION_NAME], "portal": [PORTAL_NAME], "both": [SESSION_NAME, PORTAL_NAME]}[which]
    with open(sys.argv[1], "a", buffering=1) as log:
        serve(log, names)


def _plain(value: Any) -> Any:
    """JSON-friendly: the portal's ``a{sv}`` options arrive unpacked already."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def serve(log: Any, names: list[str]) -> None:
    cookies = count(41)
    handles = count(1)
    held: set[int] = set()
    handle_info = Gio.DBusNodeInfo.new_for_xml(HANDLE_XML).interfaces
    registrations: dict[str, list[int]] = {}

    def write(service: str, method: str, args: Any) -> None:
        log.write(json.dumps({"service": service, "method": method, "args": _plain(list(args))}) + "\n")

    def session_call(conn: Any, sender: str, path: str, iface: str, method: str, params: Any,
                     invocation: Any) -> None:
        args = params.unpack()
        write("session", method, args)
        if method == "RegisterClient":
            invocation.return_value(GLib.Variant("(o)", ("/org/gnome/SessionManager/Client1",)))
        elif method == "Inhibit":
            cookie = next(cookies)
            held.add(cookie)
            invocation.return_value(GLib.Variant("(u)", (cookie,)))
        elif method == "Uninhibit":
            held.discard(args[0])
            invocation.return_value(None)
        else:
            invocation.return_value(GLib.Variant("(b)", (bool(held),)))

    def handle_call(conn: Any, sender: str, path: str, iface: str, method: str, params: Any,
                    invocation: Any) -> None:
        write("portal", f"{iface.rsplit('.', 1)[1]}.{method}", [path])
        for reg in registrations.pop(path, []):
            conn.unregister_object(reg)
        invocation.return_value(None)

    def new_handle(conn: Any, kind: str, sender: str, token: str) -> str:
        # The portal's documented form: /org/freedesktop/portal/desktop/KIND/SENDER/TOKEN.
        path = f"{PORTAL_PATH}/{kind}/{sender[1:].replace('.', '_')}/{token}"
        registrations[path] = [conn.register_object(path, info, handle_call, None, None) for info in handle_info]
        return path

    def portal_call(conn: Any, sender: str, path: str, iface: str, method: str, params: Any,
                    invocation: Any) -> None:
        args = params.unpack()
        write("portal", method, args)
        if method == "Inhibit":
            handle = new_handle(conn, "request", sender, f"inhibit{next(handles)}")
            invocation.return_value(GLib.Variant("(o)", (handle,)))
        elif method == "CreateMonitor":
            token = str(args[1].get("session_handle_token", "monitor"))
            invocation.return_value(GLib.Variant("(o)", (new_handle(conn, "session", sender, token),)))
        else:
            invocation.return_value(None)

    def portal_property(conn: Any, sender: str, path: str, iface: str, name: str) -> Any:
        write("portal", f"get {name}", [iface])
        return GLib.Variant("u", 3 if iface == "org.freedesktop.portal.Inhibit" else 1)

    session_info = Gio.DBusNodeInfo.new_for_xml(SESSION_XML).interfaces[0]
    portal_infos = Gio.DBusNodeInfo.new_for_xml(PORTAL_XML).interfaces
    owned: set[str] = set()

    def acquired(conn: Any, name: str) -> None:
        owned.add(name)
        if owned == set(names):
            print("ready", flush=True)

    def lost(conn: Any, name: str) -> None:
        print(f"fake_session: could not own {name}", file=sys.stderr, flush=True)
        loop.quit()

    def on_bus(conn: Any, name: str) -> None:
        if name == SESSION_NAME:
            conn.register_object("/org/gnome/SessionManager", session_info, session_call, None, None)
        else:
            for info in portal_infos:
                conn.register_object(PORTAL_PATH, info, portal_call, portal_property, None)

    loop = GLib.MainLoop()
    for name in names:
        Gio.bus_own_name(Gio.BusType.SESSION, name, Gio.BusNameOwnerFlags.NONE, on_bus, acquired, lost)
    loop.run()


if __name__ == "__main__":
    main()
