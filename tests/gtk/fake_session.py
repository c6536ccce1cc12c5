"""A stand-in for the GNOME session manager on a private session bus (tests only).

``python fake_session.py LOG`` owns ``org.gnome.SessionManager``, answers
``RegisterClient``, ``Inhibit`` and ``Uninhibit`` as the real one does, writes
each call to LOG as one JSON line, and prints ``ready`` once the name is its.
It is what ``Gtk.Application.inhibit`` talks to; the scenario that starts it
kills it by pid.
"""

from __future__ import annotations

import json
import sys
from itertools import count
from typing import Any

from gi.repository import Gio, GLib

XML = """
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


def main() -> None:
    with open(sys.argv[1], "a", buffering=1) as log:
        serve(log)


def serve(log: Any) -> None:
    cookies = count(41)
    held: set[int] = set()

    def call(conn: Any, sender: str, path: str, iface: str, method: str, params: Any, invocation: Any) -> None:
        args = params.unpack()
        log.write(json.dumps({"method": method, "args": list(args)}) + "\n")
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

    info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]

    def acquired(conn: Any, name: str) -> None:
        print("ready", flush=True)

    def on_bus(conn: Any, name: str) -> None:
        conn.register_object("/org/gnome/SessionManager", info, call, None, None)

    Gio.bus_own_name(Gio.BusType.SESSION, "org.gnome.SessionManager", Gio.BusNameOwnerFlags.NONE,
                     on_bus, acquired, None)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
