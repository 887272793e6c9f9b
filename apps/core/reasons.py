"""Reasons a customer reads on a timeline ("stop requested by ada@…", "exit code 3") in their language.

Reasons are written by web requests in either language and by Celery workers in English, and read later
by anyone. So a reason is stored as English text (for the API, logs and audit) *and* as its message id
with parameters; pages translate the message id into the reader's language at render time.

    reason = Reason(gettext_noop("stop requested by %(who)s"), who="ada@newco.cn")
    str(reason)          # "stop requested by ada@newco.cn" — store it as the text
    reason.as_data()     # {"msgid": "stop requested by %(who)s", "params": {"who": "ada@newco.cn"}}
    reason_localize(data, fallback=text)   # in the active language

Parameters may themselves be Reasons (a stop reason inside "…; stopped before it was placed").
"""

from __future__ import annotations

from django.utils.translation import gettext

from workers.placement.reasons import Why

# One class serves both sides: the placement engine (which cannot import Django) defines it, and the
# platform's reasons are the same kind of object, so pages translate both the same way.
Reason = Why


def reason_data(reason: str) -> dict:
    """What to store beside the text: the message id and parameters, or {} for plain text."""
    return reason.as_data() if isinstance(reason, Reason) else {}


def reasons_localize(items: list[dict] | None, *, fallback: str = "") -> str:
    """Several reasons (why a workload waits), each in the active language, joined like the stored text."""
    if not items:
        return fallback
    return "; ".join(item["text"] if "text" in item else reason_localize(item) for item in items)


def reason_localize(data: dict | None, *, fallback: str = "") -> str:
    """The reason in the active language; the stored text when there is nothing to translate from."""
    if not data or "msgid" not in data:
        return fallback
    params = {k: reason_localize(v, fallback="") if isinstance(v, dict) else v
              for k, v in (data.get("params") or {}).items()}
    try:
        return gettext(data["msgid"]) % params if params else gettext(data["msgid"])
    except (KeyError, TypeError, ValueError):
        return fallback
