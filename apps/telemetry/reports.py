"""Parsing the heartbeat report: the typed protocol (``agents/protocol.py``, shared with the agent) does
the validation, with every integer bounded by its column and ``collected_at`` near the server's clock."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from agents.protocol import HeartbeatReport, ProtocolError


def heartbeat_parse(body: bytes) -> tuple[HeartbeatReport | None, dict[str, list[str]]]:
    """The report parsed from the raw JSON body, or the field errors in the API's format
    (``devices.1.utilization_pct``; ``body`` when it is not JSON at all)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond the parser's depth
        return None, {"body": ["The body is not valid JSON."]}
    try:
        return HeartbeatReport.from_dict(
            data, now=timezone.now(), clock_window=timedelta(seconds=settings.TIDEGRID_AGENT_CLOCK_WINDOW_S)), {}
    except ProtocolError as error:
        return None, error.errors
