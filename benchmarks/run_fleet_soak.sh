#!/usr/bin/env bash
# Open-loop soak: FLEET real simulated agents (python -m agents simulate, 8 devices each, noop runtime)
# heartbeat every INTERVAL seconds for SOAK seconds against gunicorn; afterwards every node's stored
# samples must equal 8 × its last accepted seq (nothing lost, nothing twice) and the spools must be empty.
# Run through `make bench-fleet` (wrapped in tidegrid/embedded.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
FLEET=${FLEET:-2000}
INTERVAL=${INTERVAL:-10}
SOAK=${SOAK:-60}
WORKERS=${WORKERS:-3}
PORT=${PORT:-8766}
STATE=$(mktemp -d)
export DJANGO_SETTINGS_MODULE=tidegrid.settings.dev DJANGO_DEBUG=false TIDEGRID_LOG_LEVEL=WARNING
$PY manage.py migrate -v0
# room for retried enrollments; the token goes to the agents in a file, not on their command line
(umask 077; $PY manage.py bench_token --nodes $((2 * FLEET)) > "$STATE/token")
.venv/bin/gunicorn tidegrid.wsgi:application --bind 127.0.0.1:$PORT --workers $WORKERS --log-level warning \
  --access-logfile /dev/null --backlog 4096 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true; rm -rf "$STATE"' EXIT
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$PORT/healthz >/dev/null 2>&1 && break; sleep 0.2; done
$PY -m agents simulate --server http://127.0.0.1:$PORT --tokens-file "$STATE/token" --nodes "$FLEET" \
  --devices "NVIDIA A100-SXM4-80GB:8" --runtime noop --interval "$INTERVAL" --no-fsync \
  --ramp "${RAMP:-120}" --state-dir "$STATE" --hostname-prefix soak- --log-level ${AGENT_LOG:-ERROR} &
FLEET_PID=$!
# Ramp-up (enrollment) is not measured: wait until every node has reported once.
reported() { $PY manage.py shell -v0 -c "
from apps.catalog.models import Node
from django.db.models import Sum
nodes = Node.objects.filter(hostname__startswith='soak-', last_seq__gt=0)
print(nodes.count(), nodes.aggregate(s=Sum('last_seq'))['s'] or 0)"; }
for _ in $(seq 1 600); do read -r ONLINE REPORTS < <(reported); [ "$ONLINE" -ge "$FLEET" ] && break; sleep 1; done
read -r ONLINE R0 < <(reported); T0=$(date +%s.%N)
sleep "$SOAK"
read -r ONLINE R1 < <(reported); T1=$(date +%s.%N)
kill -TERM $FLEET_PID
wait $FLEET_PID || true
ELAPSED=$($PY -c "print($T1 - $T0)")
SPOOLED=$(find "$STATE" -path '*/spool/*.json' | wc -l)
$PY manage.py shell -v0 -c "
import json
from django.db.models import Count, Sum
from apps.catalog.models import Node
from apps.telemetry.models import DeviceSample
nodes = Node.objects.filter(hostname__startswith='soak-')
enrolled = nodes.count()
reports = nodes.aggregate(s=Sum('last_seq'))['s'] or 0
stored = DeviceSample.objects.filter(node__in=nodes).count()
per_node = dict(DeviceSample.objects.filter(node__in=nodes).values_list('node_id').annotate(c=Count('id')))
mismatched = sum(1 for n in nodes if per_node.get(n.id, 0) != 8 * n.last_seq)
print(json.dumps({'fleet': $FLEET, 'enrolled': enrolled, 'reporting_at_start': $ONLINE, 'interval_s': $INTERVAL,
                  'window_s': round($ELAPSED, 1), 'reports_in_window': $R1 - $R0,
                  'reports_per_s': round(($R1 - $R0) / $ELAPSED, 1), 'expected_per_s': round($FLEET / $INTERVAL, 1),
                  'reports_stored_total': reports,
                  'samples_stored': stored, 'nodes_with_lost_or_extra_samples': mismatched,
                  'reports_left_in_spools': $SPOOLED}))
"
