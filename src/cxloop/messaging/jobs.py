"""Background jobs of customer messaging (names match worker.SCHEDULE); each is idempotent."""

from __future__ import annotations

from typing import Any

from cxloop.jobs import job


@job("messaging.deliver")
def deliver_job() -> dict[str, Any]:
    """Send every due customer message once (every 30 seconds)."""
    from cxloop.messaging.service import deliver_pending

    return deliver_pending().as_dict()
