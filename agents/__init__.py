"""TideGrid node agent: a standalone package (no Django) that runs on each GPU host.

It enrolls with a one-time bootstrap token, then reports device telemetry and assignment states to
the TideGrid server in sequence-numbered heartbeats and applies the work the server sends back.
See ``agents/README.md`` and ``docs/agent-protocol.md``.
"""

__version__ = "1.0.0"
