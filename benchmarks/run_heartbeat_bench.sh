#!/usr/bin/env bash
# Starts gunicorn on the embedded (or configured) PostgreSQL/Redis, enrolls NODES simulated nodes and
# drives heartbeats at them; then verifies in the database that nothing was lost or duplicated.
# Run through `make bench-heartbeat` (which wraps it in tidegrid/embedded.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
NODES=${NODES:-2000}
CLIENTS=${CLIENTS:-8}
DURATION=${DURATION:-30}
WORKERS=${WORKERS:-3}
PORT=${PORT:-8765}
export DJANGO_SETTINGS_MODULE=tidegrid.settings.dev DJANGO_DEBUG=false TIDEGRID_LOG_LEVEL=WARNING
# The bench measures throughput: each simulated node reports as fast as it is answered, far above the
# per-node limit a real agent (one report per interval) never reaches.
export TIDEGRID_AGENT_RATE_PER_MIN=${TIDEGRID_AGENT_RATE_PER_MIN:-1000000}
$PY manage.py migrate -v0
TOKEN=$($PY manage.py bench_token --nodes $NODES)
.venv/bin/gunicorn tidegrid.wsgi:application --bind 127.0.0.1:$PORT --workers $WORKERS --threads 1 \
  --log-level warning --access-logfile /dev/null &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$PORT/healthz >/dev/null 2>&1 && break; sleep 0.2; done
PREFIX=bench-$RANDOM
$PY -m benchmarks.heartbeat_ingest --server http://127.0.0.1:$PORT --token "$TOKEN" --nodes "$NODES" \
  --clients "$CLIENTS" --duration "$DURATION" --prefix $PREFIX | tee /tmp/tidegrid-bench.json
$PY manage.py shell -v0 -c "
import json
from apps.telemetry.models import DeviceSample
from apps.catalog.models import Node
from django.db.models import Sum
result = json.loads(open('/tmp/tidegrid-bench.json').read().splitlines()[-1])
nodes = Node.objects.filter(hostname__startswith='$PREFIX')
stored = DeviceSample.objects.filter(node__in=nodes).count()
reports = nodes.aggregate(s=Sum('last_seq'))['s'] or 0
print(json.dumps({'stored_samples': stored, 'expected_samples': result['expected_samples'], 'reports_acked': reports, 'lost_or_duplicated': stored - result['expected_samples']}))
"
