"""What the agent keeps across restarts: its credential, node id and the next report sequence number.

Stored as ``<state-dir>/state.json`` with mode 0600 (the credential is a secret), written atomically.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .statefiles import atomic_write_json, remove_stale_temporaries

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"


@dataclass
class AgentState:
    path: Path = field(repr=False)
    node_id: str | None = None
    credential: str | None = field(default=None, repr=False)
    next_seq: int = 1
    cluster_id: str | None = None
    region: str | None = None
    heartbeat_interval_s: float | None = None
    server: str | None = None
    durable: bool = field(default=True, repr=False)

    @property
    def enrolled(self) -> bool:
        return bool(self.node_id and self.credential)

    @classmethod
    def load(cls, state_dir: Path, *, durable: bool = True) -> AgentState:
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_stale_temporaries(state_dir)
        path = state_dir / STATE_FILE
        state = cls(path=path, durable=durable)
        if path.exists():
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                logger.warning("%s is readable by others (mode %o); tightening it to 0600", path, mode)
                os.chmod(path, 0o600)
            data: dict[str, Any] = json.loads(path.read_text())
            for key in ("node_id", "credential", "cluster_id", "region", "heartbeat_interval_s", "server"):
                setattr(state, key, data.get(key))
            state.next_seq = max(1, int(data.get("next_seq", 1)))
        return state

    def save(self) -> None:
        data = {key: value for key, value in asdict(self).items() if key not in ("path", "durable")}
        atomic_write_json(self.path, data, mode=0o600, durable=self.durable)
