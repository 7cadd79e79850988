#!/bin/sh
# The Prometheus rules, their unit tests, the example scrape config and the Grafana dashboard,
# checked with promtool and against the metric names the sources register (a ctest).
set -eu
cd "$(dirname "$0")"
promtool check rules prometheus/alerts.yml
promtool test rules prometheus/alerts_test.yml
promtool check config prometheus/prometheus.yml
python3 -m json.tool grafana/switchboard-dashboard.json >/dev/null
python3 grafana/gen_dashboard.py | cmp -s - grafana/switchboard-dashboard.json ||
  { echo "switchboard-dashboard.json is not what gen_dashboard.py writes: regenerate it"; exit 1; }
python3 check_metrics.py .
