"""Offline verifier of TideGrid oversight evidence bundles, and the KPI formulas it shares with the
platform. Pure Python: no Django, no database (checked by import-linter). Run it as
``python -m oversight_verify bundle.zip``; see docs/oversight.md."""
