"""python -m oversight_verify bundle.zip — exit status 0 when the bundle verifies, 1 otherwise."""

from __future__ import annotations

import sys

from .bundle import verify


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m oversight_verify bundle.zip", file=sys.stderr)
        return 2
    problems, summary = verify(argv[0])
    if summary:
        print(f"bundle: {argv[0]}")
        print(f"organization: {summary['organization']}")
        print(f"period: {summary['period']}")
        print(f"audit chain head at export: {summary['audit_chain_head']}")
        print(f"manifest SHA-256: {summary['manifest_sha256']} (compare with the oversight.evidence_exported "
              "event in the platform's audit log)")
        print("records: " + ", ".join(f"{name} {count}" for name, count in summary["records"].items()))
        for name, value in summary["kpis"].items():
            print(f"  {name}: {value}")
    for problem in problems:
        print(f"MISMATCH: {problem}")
    print("OK: every hash and every KPI verifies" if not problems else f"FAILED: {len(problems)} mismatch(es)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
