"""Why a request cannot be placed, as English text that also carries its message id and parameters.

The engine has no Django, but its reasons reach customers in two languages: each reason is a ``Why``
(a ``str``: the English sentence) made from a message id marked with ``gettext_noop``, so the platform's
translators find it and pages can render it in the reader's language (``apps.core.reasons``).
"""

from __future__ import annotations

from typing import Any


def gettext_noop(message: str) -> str:
    """Marks a message id for extraction (``makemessages`` looks for this name); returns it unchanged."""
    return message


class Why(str):
    """English text that remembers the message id and parameters it was made from."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Why:
        text = msgid % {k: str(v) if isinstance(v, Why) else v for k, v in params.items()} if params else msgid
        obj = super().__new__(cls, text)
        obj.msgid, obj.params = msgid, params
        return obj

    def as_data(self) -> dict:
        return {"msgid": self.msgid,
                "params": {k: v.as_data() if isinstance(v, Why) else v for k, v in self.params.items()}}


ANY_REGION = gettext_noop("any region")
WHOLE = gettext_noop("%(n)d whole device(s)")
WHOLE_FREE = gettext_noop("%(n)d free whole device(s)")
SLICE = gettext_noop("a device with %(milli)d milli")
SLICE_FREE = gettext_noop("a device with %(milli)d milli free")
SLICE_MEM = gettext_noop("a device with %(milli)d milli and %(mem)d MiB")
SLICE_MEM_FREE = gettext_noop("a device with %(milli)d milli and %(mem)d MiB free")
PROFILE = gettext_noop("a device with a %(profile)s slice")
PROFILE_FREE = gettext_noop("a device with a free %(profile)s slice")
CPU_ONLY = gettext_noop("room")
AMONG = gettext_noop("%(what)s among %(models)s")
FROM_VENDORS = gettext_noop("%(what)s from %(vendors)s")
MIN_MEMORY = gettext_noop("%(what)s with >= %(mem)d MiB")
MIN_TFLOPS = gettext_noop("%(what)s with >= %(tflops)s FP16 TFLOPS")
NO_MATCH = gettext_noop("no device in %(where)s matches the request (%(what)s)")
ALL_BUSY = gettext_noop("no node in %(where)s has %(what)s (%(n)d matching devices, all too busy)")
HOST_SHORT = gettext_noop("%(n)d node(s) in %(where)s have %(what)s, but %(no_cpu)d lack %(cpu)d milli CPU "
                          "and %(no_mem)d lack %(mem)d MiB memory")
NO_ROOM = gettext_noop("no node in %(where)s has %(cpu)d milli CPU and %(mem)d MiB memory free (%(cpu_ok)d have "
                       "the CPU, %(mem_ok)d the memory)")
NO_LABELS = gettext_noop("no node carries the labels %(labels)s")
ELSEWHERE = gettext_noop("%(n)d would fit in %(region)s (not allowed for this request)")
NO_VICTIMS = gettext_noop("no set of preemptible workloads below priority %(priority)d frees enough room")
GANG = gettext_noop("gang of %(size)d: only %(placed)d member(s) fit at once; nothing placed")
