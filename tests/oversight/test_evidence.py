"""Acceptance 2: the month's evidence bundle verifies offline (no Django, no database); a changed byte,
or a changed record value with its hashes recomputed, is detected and named."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from apps.audit.models import AuditEvent
from oversight_verify.bundle import record_line, sha256_hex, verify

ROOT = Path(__file__).resolve().parents[2]
MONTH = {"period": "month", "start": "2026-11-01"}


def _files(bundle: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(files: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return out.getvalue()


def _rewrite(bundle: bytes, name: str, index: int, change) -> tuple[bytes, dict]:
    """Change record ``index`` of ``name``, recompute its own hash and the manifest's file hash: a forger
    who knows the format."""
    files = _files(bundle)
    lines = files[name].decode().splitlines()
    record = json.loads(lines[index])
    record.pop("sha256")
    change(record)
    lines[index] = record_line(record)
    files[name] = ("\n".join(lines) + "\n").encode()
    manifest = json.loads(files["manifest.json"])
    manifest["files"][name]["sha256"] = sha256_hex(files[name])
    files["manifest.json"] = json.dumps(manifest).encode()
    return _zip(files), record


def test_the_months_bundle_verifies_offline_and_tampering_is_named(fleet, as_user, tmp_path):
    client = as_user(fleet.auditor, fleet.government)
    response = client.get("/oversight/evidence.zip", MONTH)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    bundle = response.content
    problems, summary = verify(bundle)
    assert problems == []
    manifest = json.loads(_files(bundle)["manifest.json"])
    assert manifest["jurisdiction"] == ["cn-shanghai", "cn-suzhou"]
    assert manifest["kpis"] == client.get(
        f"/api/v1/organizations/{fleet.government.id}/oversight/kpis/", MONTH).json()["kpis"]
    assert len(manifest["kpis_by_day"]) == 30
    assert all(count > 0 for name, count in summary["records"].items() if name != "usage_records.jsonl")
    # no other tenant is named in the bundle
    text = b"".join(_files(bundle).values()).decode()
    for customer in fleet.customers.values():
        assert customer.name not in text and str(customer.id) not in text
    # the export is in the audit log with the manifest's hash; the head cited is the event before it
    event = AuditEvent.objects.filter(action="oversight.evidence_exported").get()
    assert event.details["manifest_sha256"] == summary["manifest_sha256"]
    assert manifest["audit_chain_head"] == {"seq": event.seq - 1, "hash": event.prev_hash}

    # offline, as a third party runs it: python -m oversight_verify bundle.zip, and no Django imported
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "oversight_verify", str(path)], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: every hash and every KPI verifies" in run.stdout
    no_django = subprocess.run(
        [sys.executable, "-c", "import sys, oversight_verify.__main__ as m; rc = m.main([sys.argv[1]]); "
         "assert not any(n == 'django' or n.startswith(('django.', 'apps')) for n in sys.modules); sys.exit(rc)",
         str(path)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert no_django.returncode == 0, no_django.stdout + no_django.stderr

    # 1. one changed byte in a record, hashes left alone
    files = _files(bundle)
    body = bytearray(files["state_spans.jsonl"])
    position = body.index(b'"state":"in_service"') + len(b'"state":"')
    body[position] = ord("I")
    files["state_spans.jsonl"] = bytes(body)
    tampered = tmp_path / "byte.zip"
    tampered.write_bytes(_zip(files))
    run = subprocess.run([sys.executable, "-m", "oversight_verify", str(tampered)], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == 1
    assert "MISMATCH: state_spans.jsonl: SHA-256 does not match the manifest" in run.stdout
    line_number = files["state_spans.jsonl"][:position].count(b"\n") + 1
    assert f"MISMATCH: state_spans.jsonl line {line_number}: record changed" in run.stdout

    # 2. a state span made longer, its hash and the manifest recomputed: the device-day it feeds is named
    def shorten(record):
        record["state"] = "maintenance" if record["state"] == "in_service" else "in_service"

    forged, record = _rewrite(bundle, "state_spans.jsonl", 0, shorten)
    problems, _summary = verify(forged)
    assert any(p.startswith("device_days.jsonl line") and f"device {record['device']}" in p
               and "state_spans.jsonl gives" in p for p in problems), problems

    # 3. a device-day's utilization reading raised: the KPI and the day it changes are named
    records = [json.loads(line) for line in _files(bundle)["device_days.jsonl"].decode().splitlines()]
    index = next(i for i, r in enumerate(records) if r["in_service_s"] > 0 and r["utilized_s"] > 0)

    def more_utilized(record):
        record["utilized_s"] += 3600.0

    forged, record = _rewrite(bundle, "device_days.jsonl", index, more_utilized)
    problems, _summary = verify(forged)
    assert any(p.startswith("KPI utilization (period)") for p in problems), problems
    assert any(p.startswith(f"KPI utilization (day {record['day']})") for p in problems), problems

    # 4. an allocation's share changed: the consumption record it no longer supports is named
    allocations = [json.loads(line) for line in _files(bundle)["allocations.jsonl"].decode().splitlines()]
    index = next(i for i, r in enumerate(allocations) if r["share"] == 0.5)

    def bigger(record):
        record["share"] = 0.75

    forged, record = _rewrite(bundle, "allocations.jsonl", index, bigger)
    problems, _summary = verify(forged)
    assert any(p.startswith("consumption.jsonl line") and f"device {record['device']}" in p
               and f"customer {record['customer']}" in p for p in problems), problems

    # 5. one day's reported KPI changed in the manifest
    files = _files(bundle)
    manifest = json.loads(files["manifest.json"])
    manifest["kpis"]["consumption_rate"] *= 1.01
    files["manifest.json"] = json.dumps(manifest).encode()
    problems, _summary = verify(_zip(files))
    assert any(p.startswith("KPI consumption_rate (period)") for p in problems), problems
