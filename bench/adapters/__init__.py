"""Adapters: one class per implementation (see ``bench.registry``).

Kept empty on purpose: spawned workers re-import ``bench._one`` (and so this
package) as their ``__mp_main__``; nothing heavy may run here.
"""
