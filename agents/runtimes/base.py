"""The runtime interface (how assignments are run) and what every runtime shares."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from ..protocol import (
    FAILED,
    FINAL_STATES,
    LOG_TAIL_CHARS,
    RUNNING,
    STARTING,
    STOPPED,
    SUCCEEDED,
    AssignmentReport,
    AssignmentSpec,
)

__all__ = ["FAILED", "FINAL_STATES", "LOG_TAIL_BYTES", "RUNNING", "STARTING", "STOPPED", "SUCCEEDED",
           "AssignmentSpec", "AssignmentStatus", "Runtime"]

LOG_TAIL_BYTES = LOG_TAIL_CHARS
# The state of one assignment as the protocol reports it.
AssignmentStatus = AssignmentReport


class Runtime(abc.ABC):
    """Runs assignments. Every method is called from the agent's loop thread only."""

    name: str = "abstract"

    @abc.abstractmethod
    def start(self, assignment_id: str, spec: AssignmentSpec | Mapping[str, Any]) -> None:
        """Launch the assignment (a mapping is read with ``AssignmentSpec.coerce``); a launch that fails is
        reported as a ``failed`` status, not raised."""

    @abc.abstractmethod
    def stop(self, assignment_id: str) -> None:
        """Ask the assignment to stop; it reaches ``stopped`` on a later ``poll``."""

    @abc.abstractmethod
    def poll(self) -> list[AssignmentStatus]:
        """The current status of every assignment the runtime still knows about."""

    @abc.abstractmethod
    def knows(self, assignment_id: str) -> bool:
        """Whether the assignment was started here (and not forgotten yet)."""

    @abc.abstractmethod
    def forget(self, assignment_id: str) -> None:
        """The server has recorded the final state: stop reporting it and drop what is kept for it."""

    def running_specs(self) -> list[AssignmentSpec]:
        """Specs of the assignments that hold devices now (drives the simulated devices' load)."""
        return []

    def spec_of(self, assignment_id: str) -> AssignmentSpec | None:
        """The spec an assignment was started with (to attribute device usage to it), if known."""
        return None

    def attach(self, *, node_id: str) -> None:  # noqa: B027 - optional hook
        """Told this node's id once it is known (after enrollment), before ``recover``."""

    def recover(self) -> None:  # noqa: B027 - optional hook
        """At agent start: pick up what a previous agent process left behind."""

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """At agent stop (see each runtime for what happens to running workloads)."""
