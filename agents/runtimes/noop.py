"""A runtime that only pretends, for load tests with many simulated nodes: an assignment is running as
soon as it starts and succeeds after ``spec["duration_s"]`` seconds (runs until stopped without one)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..protocol import AssignmentSpec
from ..timeutil import utcnow
from .base import RUNNING, STOPPED, SUCCEEDED, AssignmentStatus, Runtime


@dataclass
class _Pretend:
    status: AssignmentStatus
    spec: AssignmentSpec
    started: float
    duration_s: float | None


class NoopRuntime(Runtime):
    name = "noop"

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, _Pretend] = {}

    def knows(self, assignment_id: str) -> bool:
        return assignment_id in self._items

    def start(self, assignment_id: str, spec: AssignmentSpec | Mapping[str, Any]) -> None:
        if assignment_id in self._items:
            return
        spec = AssignmentSpec.coerce(spec)
        self._items[assignment_id] = _Pretend(
            status=AssignmentStatus(id=assignment_id, state=RUNNING, started_at=utcnow(),
                                    log_tail="[noop runtime] pretending to run\n"),
            spec=spec, started=self._clock(), duration_s=spec.duration_s,
        )

    def stop(self, assignment_id: str) -> None:
        item = self._items.get(assignment_id)
        if item is not None and not item.status.is_final:
            item.status.state, item.status.exit_code, item.status.finished_at = STOPPED, None, utcnow()

    def poll(self) -> list[AssignmentStatus]:
        now = self._clock()
        for item in self._items.values():
            if (not item.status.is_final and item.duration_s is not None
                    and now - item.started >= item.duration_s):
                item.status.state, item.status.exit_code, item.status.finished_at = SUCCEEDED, 0, utcnow()
        return [item.status for item in self._items.values()]

    def forget(self, assignment_id: str) -> None:
        self._items.pop(assignment_id, None)

    def spec_of(self, assignment_id: str) -> AssignmentSpec | None:
        item = self._items.get(assignment_id)
        return item.spec if item is not None else None

    def running_specs(self) -> list[AssignmentSpec]:
        return [item.spec for item in self._items.values() if not item.status.is_final]
