#!/usr/bin/env python3
"""Generate grafana/switchboard-dashboard.json.

The dashboard JSON is the deliverable; this script is kept next to it so the
dashboard can be changed in one place and regenerated:

    python3 gen_dashboard.py > switchboard-dashboard.json
"""
import json
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
SB_JOBS = "router|session|infer|embeddings|edge|health"

# Label filters driven by the template variables.
ROUTER = 'service=~"$service", instance=~"$instance"'
INST = 'instance=~"$instance"'
PROC = f'job=~"{SB_JOBS}", instance=~"$instance"'


class Layout:
    """Places panels left to right on Grafana's 24-column grid."""

    def __init__(self):
        self.panels = []
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.line_h = 0

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        self._newline()
        self.panels.append({
            "type": "row",
            "id": self._id(),
            "title": title,
            "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "panels": [],
        })
        self.y += 1

    def _newline(self):
        if self.x:
            self.y += self.line_h
            self.x = 0
            self.line_h = 0

    def add(self, panel, w, h):
        if self.x + w > 24:
            self._newline()
        panel["id"] = self._id()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.line_h = max(self.line_h, h)


def target(expr, legend="", ref="A", instant=False):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend or "__auto",
        "refId": ref,
    }
    if instant:
        t["instant"] = True
        t["range"] = False
    else:
        t["range"] = True
    return t


def targets(*pairs):
    return [target(e, l, chr(ord("A") + i)) for i, (e, l) in enumerate(pairs)]


def thresholds(*steps):
    """steps: (color, value) with the first value None (base)."""
    return {"mode": "absolute",
            "steps": [{"color": c, "value": v} for c, v in steps]}


def timeseries(title, desc, tgts, unit, *, min_=0, max_=None, stack=False,
               fill=10, threshold_line=None, overrides=None, legend_calcs=None):
    defaults = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": {
            "drawStyle": "line",
            "lineInterpolation": "linear",
            "lineWidth": 1,
            "fillOpacity": 30 if stack else fill,
            "gradientMode": "none",
            "showPoints": "never",
            "pointSize": 4,
            "spanNulls": False,
            "axisPlacement": "auto",
            "axisLabel": "",
            "axisCenteredZero": False,
            "axisColorMode": "text",
            "scaleDistribution": {"type": "linear"},
            "barAlignment": 0,
            "hideFrom": {"legend": False, "tooltip": False, "viz": False},
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
            "thresholdsStyle": {"mode": "line+area" if threshold_line is not None else "off"},
        },
        "thresholds": (thresholds(("transparent", None), ("red", threshold_line))
                       if threshold_line is not None
                       else thresholds(("green", None))),
        "mappings": [],
    }
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    return {
        "type": "timeseries",
        "title": title,
        "description": desc,
        "datasource": DS,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "legend": {"showLegend": True, "displayMode": "table",
                       "placement": "bottom",
                       "calcs": legend_calcs if legend_calcs is not None
                       else ["mean", "max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": tgts,
    }


def stat(title, desc, expr, unit, steps, mappings=None, color_mode="background"):
    return {
        "type": "stat",
        "title": title,
        "description": desc,
        "datasource": DS,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": thresholds(*steps),
                "mappings": mappings or [],
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": color_mode,
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
        "targets": [target(expr, "", "A", instant=True)],
    }


def updown_mappings(up_text, down_text):
    return [
        {"type": "value", "options": {
            "1": {"text": up_text, "color": "green", "index": 0},
            "0": {"text": down_text, "color": "red", "index": 1},
        }},
    ]


def state_timeline(title, desc, tgts, up_text="UP", down_text="DOWN"):
    return {
        "type": "state-timeline",
        "title": title,
        "description": desc,
        "datasource": DS,
        "fieldConfig": {
            "defaults": {
                "unit": "short",
                "color": {"mode": "thresholds"},
                "thresholds": thresholds(("red", None), ("green", 1)),
                "mappings": updown_mappings(up_text, down_text),
                "custom": {"lineWidth": 0, "fillOpacity": 75,
                           "hideFrom": {"legend": False, "tooltip": False, "viz": False}},
            },
            "overrides": [],
        },
        "options": {
            "mergeValues": True,
            "showValue": "auto",
            "alignValue": "left",
            "rowHeight": 0.8,
            "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "single", "sort": "none"},
        },
        "targets": tgts,
    }


def dashed(regex):
    """Override: draw series whose display name matches regex dashed."""
    return {
        "matcher": {"id": "byRegexp", "options": regex},
        "properties": [
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "custom.fillOpacity", "value": 0},
        ],
    }


def right_axis(regex, unit):
    return {
        "matcher": {"id": "byRegexp", "options": regex},
        "properties": [
            {"id": "custom.axisPlacement", "value": "right"},
            {"id": "unit", "value": unit},
        ],
    }


def quantiles(metric, by, sel, qs=(0.5, 0.9, 0.99), legend_prefix=""):
    """histogram_quantile targets over rate() of metric_bucket."""
    out = []
    for q in qs:
        expr = (f"histogram_quantile({q}, sum by (le, {by}) "
                f"(rate({metric}_bucket{{{sel}}}[{RATE}])))")
        label = "p" + f"{q * 100:g}"
        legend = " ".join(f"{{{{{b.strip()}}}}}" for b in by.split(","))
        out.append((expr, f"{legend_prefix}{legend} {label}"))
    return targets(*out)


def build():
    L = Layout()

    # ---------------------------------------------------------------- overview
    L.row("Overview")
    L.add(stat(
        "Suite readiness",
        "sb_health_ready from the health service: whether the suite can serve "
        "(all required services have a live worker, routers and Redis reachable). "
        "Minimum over health instances.",
        "min(sb_health_ready)", "short",
        [("red", None), ("green", 1)],
        mappings=updown_mappings("READY", "NOT READY") + [
            {"type": "special", "options": {"match": "null",
                                             "result": {"text": "NO DATA", "color": "orange", "index": 2}}}]),
        4, 4)
    L.add(stat(
        "Required services without a live worker",
        "Services in the health service's required list whose count of registered, "
        "non-draining workers is 0 (or unknown).",
        "count((sb_health_service_required == 1) unless on (instance, service) "
        "(sb_health_service_live_workers > 0)) or vector(0)",
        "short", [("green", None), ("red", 1)]), 4, 4)
    L.add(stat(
        "Routers down",
        "Routers the health service cannot reach (sb_health_router_up == 0).",
        "count(sb_health_router_up == 0) or vector(0)",
        "short", [("green", None), ("red", 1)]), 4, 4)
    L.add(stat(
        "Scrape targets down",
        "Switchboard processes Prometheus cannot scrape (up == 0).",
        f'count(up{{job=~"{SB_JOBS}"}} == 0) or vector(0)',
        "short", [("green", None), ("red", 1)]), 4, 4)
    L.add(stat(
        "Edge HTTP request rate",
        "All HTTP requests received by the OpenAI-compatible edge.",
        f"sum(rate(sb_edge_http_requests_total{{{INST}}}[{RATE}]))",
        "reqps", [("blue", None)], color_mode="value"), 4, 4)
    L.add(stat(
        "Open streams",
        "Streaming (server-sent events) responses currently open at the edge.",
        f"sum(sb_edge_inflight_requests{{{INST}}})",
        "short", [("blue", None)], color_mode="value"), 4, 4)

    # ---------------------------------------------------------------- requests
    L.row("Requests (router)")
    L.add(timeseries(
        "Request rate per service",
        "Requests received by the routers, summed over routers.",
        targets((f"sum by (service) (rate(sb_router_requests_total{{{ROUTER}}}[{RATE}]))",
                 "{{service}}")),
        "reqps"), 8, 8)
    L.add(timeseries(
        "Error ratio per service",
        "Requests ended with a code other than OK, divided by all ended requests. "
        "CANCELLED (the client gave up) is not counted as an error. "
        "The red line is the 5% alert threshold (SwitchboardHighErrorRatio).",
        targets((f'sum by (service) (rate(sb_router_responses_total{{code!~"OK|CANCELLED", {ROUTER}}}[{RATE}]))'
                 f" / sum by (service) (rate(sb_router_responses_total{{{ROUTER}}}[{RATE}]))",
                 "{{service}}")),
        "percentunit", max_=None, threshold_line=0.05), 8, 8)
    L.add(timeseries(
        "Responses by code",
        "Requests ended per second by status code, all selected services.",
        targets((f"sum by (code) (rate(sb_router_responses_total{{{ROUTER}}}[{RATE}]))",
                 "{{code}}")),
        "reqps", stack=True,
        overrides=[{"matcher": {"id": "byName", "options": "OK"},
                    "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "green"}}]}]),
        8, 8)
    L.add(timeseries(
        "Edge HTTP requests by route and status",
        "HTTP requests at the edge per route and HTTP status code.",
        targets((f"sum by (route, code) (rate(sb_edge_http_requests_total{{{INST}}}[{RATE}]))",
                 "{{route}} {{code}}")),
        "reqps"), 8, 8)
    L.add(timeseries(
        "Edge chat failures by error type",
        "Failed gen-AI requests per second at the edge, from the count of "
        "gen_ai_server_request_duration_seconds series that carry an error_type.",
        targets((f'sum by (gen_ai_request_model, error_type) (rate(gen_ai_server_request_duration_seconds_count'
                 f'{{error_type!="", {INST}}}[{RATE}]))',
                 "{{gen_ai_request_model}} {{error_type}}")),
        "reqps"), 8, 8)
    L.add(timeseries(
        "Router rejected frames and redispatches",
        "Frames the routers rejected, by reason, and requests re-sent to another "
        "worker (for example after a worker disappeared), per second.",
        targets((f"sum by (reason) (rate(sb_router_frames_rejected_total{{{INST}}}[{RATE}]))",
                 "rejected: {{reason}}"),
                (f"sum(rate(sb_router_redispatched_total{{{INST}}}[{RATE}]))",
                 "redispatched")),
        "short"), 8, 8)

    # ---------------------------------------------------------------- latency
    L.row("Latency")
    L.add(timeseries(
        "Request latency per service (router) p50 / p90 / p99",
        "histogram_quantile over the rate of sb_router_request_duration_seconds "
        "buckets, aggregated over routers.",
        quantiles("sb_router_request_duration_seconds", "service", ROUTER),
        "s"), 12, 9)
    L.add(timeseries(
        "Edge time to first token per model p50 / p90 / p99",
        "gen_ai_server_time_to_first_token_seconds for chat completions at the edge. "
        "The red line is the 5 s p90 alert threshold. OTel buckets end at 10 s, so "
        "quantiles above 10 s are reported as 10 s.",
        quantiles("gen_ai_server_time_to_first_token_seconds", "gen_ai_request_model",
                  f'gen_ai_operation_name="chat", {INST}'),
        "s", threshold_line=5), 12, 9)
    L.add(timeseries(
        "Edge HTTP duration per route p50 / p99",
        "Whole HTTP request duration at the edge (for streams: until the stream ends).",
        quantiles("sb_edge_http_request_duration_seconds", "route", INST, qs=(0.5, 0.99)),
        "s"), 6, 8)
    L.add(timeseries(
        "Edge time per output token p50 / p90",
        "gen_ai_server_time_per_output_token_seconds: decode speed after the first token.",
        quantiles("gen_ai_server_time_per_output_token_seconds", "gen_ai_request_model",
                  INST, qs=(0.5, 0.9)),
        "s"), 6, 8)
    L.add(timeseries(
        "Backend time to first token p50 / p90",
        "Time to first token measured by the inference dispatcher, per backend.",
        quantiles("sb_infer_backend_time_to_first_token_seconds", "backend", INST,
                  qs=(0.5, 0.9)),
        "s"), 6, 8)
    L.add(timeseries(
        "Backend operation duration p50 / p90",
        "gen_ai_client_operation_duration_seconds: the inference dispatcher's calls "
        "to its backends, per model.",
        quantiles("gen_ai_client_operation_duration_seconds", "gen_ai_request_model",
                  INST, qs=(0.5, 0.9)),
        "s"), 6, 8)

    # ---------------------------------------------------------------- tokens
    L.row("Tokens")
    L.add(timeseries(
        "Output tokens/s per model",
        "Rate of gen_ai_client_token_usage_sum for output tokens (chat), as counted "
        "by the inference dispatcher.",
        targets((f'sum by (gen_ai_request_model) (rate(gen_ai_client_token_usage_sum'
                 f'{{gen_ai_operation_name="chat", gen_ai_token_type="output", {INST}}}[{RATE}]))',
                 "{{gen_ai_request_model}}")),
        "short"), 8, 8)
    L.add(timeseries(
        "Input tokens/s per model",
        "Rate of gen_ai_client_token_usage_sum for input (prompt) tokens (chat).",
        targets((f'sum by (gen_ai_request_model) (rate(gen_ai_client_token_usage_sum'
                 f'{{gen_ai_operation_name="chat", gen_ai_token_type="input", {INST}}}[{RATE}]))',
                 "{{gen_ai_request_model}}")),
        "short"), 8, 8)
    L.add(timeseries(
        "Tokens/s per backend",
        "sb_infer_backend_tokens_total rate, per inference backend.",
        targets((f"sum by (backend) (rate(sb_infer_backend_tokens_total{{{INST}}}[{RATE}]))",
                 "{{backend}}")),
        "short"), 8, 8)

    # ---------------------------------------------------------------- capacity
    L.row("Queues and capacity")
    L.add(timeseries(
        "Queue depth per service",
        "Requests waiting at the routers for a free worker, summed over routers. "
        "A queue that stays non-empty and keeps growing fires SwitchboardQueueGrowing.",
        targets((f"sum by (service) (sb_router_queue_depth{{{ROUTER}}})", "{{service}}")),
        "short"), 8, 8)
    L.add(timeseries(
        "In flight vs capacity per worker kind",
        "Requests being handled by worker processes (solid) against the capacity "
        "they advertise (dashed), summed per job.",
        targets((f"sum by (job) (sb_worker_inflight{{{INST}}})", "{{job}} in flight"),
                (f"sum by (job) (sb_worker_capacity{{{INST}}})", "{{job}} capacity")),
        "short", overrides=[dashed(".*capacity$")]), 8, 8)
    L.add(timeseries(
        "Live workers per service",
        "Workers registered and not draining (solid) and all registered workers "
        "(dashed), as seen by the router that sees the most.",
        targets((f"max by (service) (sb_router_live_workers{{{ROUTER}}})", "{{service}} live"),
                (f"max by (service) (sb_router_workers{{{ROUTER}}})", "{{service}} registered")),
        "short", overrides=[dashed(".*registered$")]), 8, 8)
    L.add(timeseries(
        "Router in flight per service",
        "Requests dispatched to a worker and not yet answered, summed over routers.",
        targets((f"sum by (service) (sb_router_inflight{{{ROUTER}}})", "{{service}}")),
        "short"), 6, 8)
    L.add(timeseries(
        "Worker utilisation",
        "In-flight requests divided by advertised capacity, per worker kind.",
        targets((f"sum by (job) (sb_worker_inflight{{{INST}}}) / sum by (job) (sb_worker_capacity{{{INST}}})",
                 "{{job}}")),
        "percentunit", threshold_line=0.9), 6, 8)
    L.add(timeseries(
        "Draining workers and router registrations",
        "Worker processes currently draining, and the lowest number of routers any "
        "worker of the kind is registered with (0 means a worker is not reachable "
        "through any router).",
        targets((f"sum by (job) (sb_worker_draining{{{INST}}})", "{{job}} draining"),
                (f"min by (job) (sb_worker_routers_registered{{{INST}}})", "{{job}} min routers registered")),
        "short"), 6, 8)
    L.add(timeseries(
        "Worker rejections, handler errors, cancellations",
        "Per second, per worker kind: requests refused (for example over capacity or "
        "draining), handler failures and cancelled requests; ended requests for scale.",
        targets((f"sum by (job) (rate(sb_worker_rejected_total{{{INST}}}[{RATE}]))", "{{job}} rejected"),
                (f"sum by (job) (rate(sb_worker_handler_errors_total{{{INST}}}[{RATE}]))", "{{job}} handler errors"),
                (f"sum by (job) (rate(sb_worker_cancelled_total{{{INST}}}[{RATE}]))", "{{job}} cancelled"),
                (f"sum by (job) (rate(sb_worker_requests_total{{{INST}}}[{RATE}]))", "{{job}} ended")),
        "reqps", overrides=[dashed(".*ended$")]), 6, 8)
    L.add(timeseries(
        "In flight per worker (router view)",
        "sb_router_worker_inflight summed over routers: requests each worker is "
        "handling. Uneven lines point at a slow or stuck worker.",
        targets((f"sum by (service, worker) (sb_router_worker_inflight{{{ROUTER}}})",
                 "{{service}} {{worker}}")),
        "short"), 12, 8)
    L.add(state_timeline(
        "Draining workers (router view)",
        "sb_router_worker_draining per worker; highest value across routers.",
        targets((f"max by (service, worker) (sb_router_worker_draining{{{ROUTER}}})",
                 "{{service}} {{worker}}")),
        up_text="draining", down_text="serving"), 12, 8)
    # Draining is the "bad" state here: flip the colours.
    L.panels[-1]["fieldConfig"]["defaults"]["mappings"] = [
        {"type": "value", "options": {
            "0": {"text": "serving", "color": "green", "index": 0},
            "1": {"text": "draining", "color": "orange", "index": 1}}}]
    L.panels[-1]["fieldConfig"]["defaults"]["thresholds"] = thresholds(("green", None), ("orange", 1))

    # ---------------------------------------------------------------- embeddings
    L.row("Embedding cache")
    hit = lambda h, m: (f"sum(rate({h}{{{INST}}}[{RATE}])) / "
                        f"(sum(rate({h}{{{INST}}}[{RATE}])) + sum(rate({m}{{{INST}}}[{RATE}])))")
    L.add(timeseries(
        "Cache hit ratio",
        "Memory tier: hits / lookups in the in-process cache. Redis tier: hits / "
        "lookups in Redis (only memory misses reach it). Overall: inputs served from "
        "either cache / all inputs.",
        targets((hit("sb_embed_memory_hits_total", "sb_embed_memory_misses_total"), "memory tier"),
                (hit("sb_embed_redis_hits_total", "sb_embed_redis_misses_total"), "redis tier"),
                (f'sum(rate(sb_embed_inputs_total{{source=~"memory|redis", {INST}}}[{RATE}])) / '
                 f"sum(rate(sb_embed_inputs_total{{{INST}}}[{RATE}]))", "overall")),
        "percentunit", max_=1), 8, 8)
    L.add(timeseries(
        "Inputs by source (share)",
        "Share of embedding inputs answered from memory, from Redis, or computed "
        "by the backend.",
        targets((f"sum by (source) (rate(sb_embed_inputs_total{{{INST}}}[{RATE}])) "
                 f"/ ignoring (source) group_left sum(rate(sb_embed_inputs_total{{{INST}}}[{RATE}]))",
                 "{{source}}")),
        "percentunit", max_=1, stack=True), 8, 8)
    L.add(timeseries(
        "Embedding backend calls, failures, queue",
        "Calls to the embedding backend and failed calls per second; inputs waiting "
        "for the backend (right axis).",
        targets((f"sum(rate(sb_embed_backend_calls_total{{{INST}}}[{RATE}]))", "calls/s"),
                (f"sum(rate(sb_embed_backend_failures_total{{{INST}}}[{RATE}]))", "failures/s"),
                (f"sum(sb_embed_backend_queue{{{INST}}})", "queued")),
        "reqps", overrides=[right_axis("queued", "short")]), 8, 8)

    # ---------------------------------------------------------------- redis & backends
    L.row("Redis, routers and backends")
    L.add(state_timeline(
        "Redis nodes (health probe)",
        "sb_health_redis_up per Redis node.",
        targets(("sb_health_redis_up", "{{node}}"))), 8, 8)
    L.add(state_timeline(
        "Redis cluster state",
        "sb_health_redis_cluster_ok per node: CLUSTER INFO reports cluster_state:ok. "
        "Empty for a standalone Redis.",
        targets(("sb_health_redis_cluster_ok", "{{node}}")),
        up_text="ok", down_text="fail"), 8, 8)
    L.add(state_timeline(
        "Redis connection from services",
        "Whether the session and embeddings processes currently hold a working "
        "Redis connection.",
        targets((f"sb_session_redis_up{{{INST}}}", "session {{instance}}"),
                (f"sb_embed_redis_up{{{INST}}}", "embeddings {{instance}}"))), 8, 8)
    L.add(state_timeline(
        "Backends (health probe)",
        "sb_health_backend_up per service and backend.",
        targets(("sb_health_backend_up", "{{service}} / {{backend}}"))), 8, 8)
    L.add(state_timeline(
        "Backends (inference dispatcher)",
        "sb_infer_backend_up: 0 while the dispatcher keeps the backend out of "
        "rotation (cool-down after failures).",
        targets((f"sb_infer_backend_up{{{INST}}}", "{{instance}} {{backend}}")),
        up_text="UP", down_text="COOLING DOWN"), 8, 8)
    L.add(state_timeline(
        "Routers (health probe)",
        "sb_health_router_up per router endpoint.",
        targets(("sb_health_router_up", "{{router}}"))), 8, 8)
    L.add(timeseries(
        "Backend requests/s",
        "Requests sent by the inference dispatcher to each backend.",
        targets((f"sum by (backend) (rate(sb_infer_backend_requests_total{{{INST}}}[{RATE}]))",
                 "{{backend}}")),
        "reqps"), 8, 8)
    L.add(timeseries(
        "Backend errors by kind",
        "Failed backend calls per second, by backend and kind of error.",
        targets((f"sum by (backend, kind) (rate(sb_infer_backend_errors_total{{{INST}}}[{RATE}]))",
                 "{{backend}} {{kind}}")),
        "reqps"), 8, 8)
    L.add(timeseries(
        "Backend in flight",
        "Requests currently open against each backend.",
        targets((f"sum by (backend) (sb_infer_backend_inflight{{{INST}}})", "{{backend}}")),
        "short"), 8, 8)
    L.add(timeseries(
        "Health probe duration p90",
        "How long the health service's probes take, per target kind.",
        quantiles("sb_health_probe_duration_seconds", "target", INST, qs=(0.9,)),
        "s"), 12, 8)
    L.add(timeseries(
        "Health probe failures",
        "Failed probes per second, per target kind.",
        targets((f"sum by (target) (rate(sb_health_probe_failures_total{{{INST}}}[{RATE}]))",
                 "{{target}}")),
        "short"), 12, 8)

    # ---------------------------------------------------------------- processes
    L.row("Processes")
    L.add(timeseries(
        "Resident memory",
        "process_resident_memory_bytes per process.",
        targets((f"process_resident_memory_bytes{{{PROC}}}", "{{job}} {{instance}}")),
        "bytes"), 8, 8)
    L.add(timeseries(
        "CPU",
        "CPU time used per second per process (100% = one core).",
        targets((f"rate(process_cpu_seconds_total{{{PROC}}}[{RATE}])", "{{job}} {{instance}}")),
        "percentunit"), 8, 8)
    L.add(timeseries(
        "Open file descriptors",
        "process_open_fds per process (sockets included).",
        targets((f"process_open_fds{{{PROC}}}", "{{job}} {{instance}}")),
        "short"), 8, 8)
    L.add(state_timeline(
        "Process readiness",
        "sb_ready: each process's own readiness.",
        targets((f"sb_ready{{{PROC}}}", "{{job}} {{instance}}")),
        up_text="ready", down_text="not ready"), 12, 8)
    L.add(timeseries(
        "Uptime",
        "Time since each process started; a drop to zero is a restart.",
        targets((f"time() - process_start_time_seconds{{{PROC}}}", "{{job}} {{instance}}")),
        "s", legend_calcs=["lastNotNull"]), 12, 8)

    return L.panels


def query_var(name, label, query, sort=1):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"qryType": 1, "query": query,
                  "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "sort": sort,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
        "skipUrlSync": False,
    }


def dashboard():
    return {
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "state-timeline", "name": "State timeline", "version": ""},
        ],
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "description": "Switchboard: routers, workers, inference, embeddings, edge, "
                       "Redis and health.",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "liveNow": False,
        "panels": build(),
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["switchboard"],
        "templating": {"list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "regex": "",
                "current": {},
                "options": [],
                "refresh": 1,
                "hide": 0,
                "includeAll": False,
                "multi": False,
                "skipUrlSync": False,
            },
            query_var("service", "Service",
                      "label_values(sb_router_requests_total, service)"),
            query_var("instance", "Instance",
                      f'label_values(up{{job=~"{SB_JOBS}"}}, instance)'),
        ]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "Switchboard",
        "uid": "switchboard-overview",
        "version": 1,
        "weekStart": "",
    }


if __name__ == "__main__":
    json.dump(dashboard(), sys.stdout, indent=2)
    sys.stdout.write("\n")
