"""Kept for branches written before the one clock: use ``cxloop.clock.now`` and ``get_settings().loop``.

The loop's settings are the typed ``loop`` section of :class:`cxloop.config.Settings`; this module
only re-exports the clock so in-flight branches still import. Delete it once they are merged.
"""

from __future__ import annotations

from cxloop.clock import now

__all__ = ["now"]
