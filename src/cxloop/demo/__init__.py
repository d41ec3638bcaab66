"""The demo store: a generated Chinese online shop with planted problems, loaded like users' data."""

from __future__ import annotations
