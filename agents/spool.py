"""The on-disk spool: every report is stored before it is sent and removed only once acknowledged.

One JSON file per report, ``<state-dir>/spool/<seq, 20 digits>.json``, written with write-temp-then-
rename, so a crash leaves either the whole report or none of it, and the name order is the seq order.
The spool is bounded: past ``max_reports`` the oldest report is dropped (with a warning), so an outage
longer than ``max_reports × interval`` loses its oldest telemetry rather than filling the disk.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from .statefiles import atomic_write_json, remove_stale_temporaries

logger = logging.getLogger(__name__)

DEFAULT_MAX_REPORTS = 10_000


class Spool:
    def __init__(self, directory: Path, *, max_reports: int = DEFAULT_MAX_REPORTS, durable: bool = True) -> None:
        if max_reports < 1:
            raise ValueError("the spool must hold at least one report")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_stale_temporaries(self.directory)
        self.max_reports = max_reports
        self.durable = durable
        self.dropped = 0
        seqs = []
        for path in self.directory.glob("*.json"):
            try:
                seqs.append(int(path.stem))
            except ValueError:
                logger.warning("ignoring stray file in the spool: %s", path)
        self._seqs = sorted(seqs)
        self._enforce_bound()

    def _path(self, seq: int) -> Path:
        return self.directory / f"{seq:020d}.json"

    def __len__(self) -> int:
        return len(self._seqs)

    def seqs(self) -> list[int]:
        return list(self._seqs)

    @property
    def max_seq(self) -> int:
        return self._seqs[-1] if self._seqs else 0

    def append(self, report: dict[str, Any]) -> None:
        seq = int(report["seq"])
        if self._seqs and seq <= self._seqs[-1]:
            raise ValueError(f"spool reports must be appended in seq order ({seq} after {self._seqs[-1]})")
        atomic_write_json(self._path(seq), report, durable=self.durable)
        self._seqs.append(seq)
        self._enforce_bound()

    def _enforce_bound(self) -> None:
        excess = len(self._seqs) - self.max_reports
        if excess <= 0:
            return
        dropped, self._seqs = self._seqs[:excess], self._seqs[excess:]
        for seq in dropped:
            self._path(seq).unlink(missing_ok=True)
        self.dropped += len(dropped)
        logger.warning("spool full (%d reports): dropped the oldest %d (seq %d..%d); that telemetry is lost",
                       self.max_reports, len(dropped), dropped[0], dropped[-1])

    def read(self, seq: int) -> dict[str, Any] | None:
        """The stored report, or None (and the file removed) when it is unreadable."""
        try:
            return json.loads(self._path(seq).read_text())
        except (OSError, ValueError) as exc:
            logger.error("spooled report %d is unreadable (%s); dropping it", seq, exc)
            self.remove(seq)
            return None

    def remove(self, seq: int) -> None:
        self._path(seq).unlink(missing_ok=True)
        with contextlib.suppress(ValueError):
            self._seqs.remove(seq)
