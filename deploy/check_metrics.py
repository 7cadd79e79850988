#!/usr/bin/env python3
"""Check the Switchboard dashboard and Prometheus rules against the metric
catalogue.

  * every metric name used in a PromQL expression is an exported Switchboard
    metric, a _bucket/_sum/_count series of an exported histogram, or `up`;
  * every label named in a selector ({...}) is a label that metric carries
    (plus job/instance added by Prometheus, and le on _bucket series);
  * every dashboard expression parses as PromQL (Grafana variables are
    substituted and the expressions are run through `promtool check rules`).

Usage: python3 check_metrics.py [deploy-dir]     (exit status 1 on problems)
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
PROMTOOL = "/usr/bin/promtool"

# name -> (kind, labels). kind is "histogram" or "plain" (counter/gauge).
H, P = "histogram", "plain"
CATALOGUE = {
    # router
    "sb_router_requests_total": (P, {"service"}),
    "sb_router_responses_total": (P, {"service", "code"}),
    "sb_router_request_duration_seconds": (H, {"service"}),
    "sb_router_queue_depth": (P, {"service"}),
    "sb_router_inflight": (P, {"service"}),
    "sb_router_workers": (P, {"service"}),
    "sb_router_live_workers": (P, {"service"}),
    "sb_router_worker_inflight": (P, {"service", "worker"}),
    "sb_router_worker_draining": (P, {"service", "worker"}),
    "sb_router_frames_rejected_total": (P, {"reason"}),
    "sb_router_redispatched_total": (P, set()),
    # every worker
    "sb_worker_requests_total": (P, set()),
    "sb_worker_rejected_total": (P, set()),
    "sb_worker_handler_errors_total": (P, set()),
    "sb_worker_cancelled_total": (P, set()),
    "sb_worker_inflight": (P, set()),
    "sb_worker_capacity": (P, set()),
    "sb_worker_draining": (P, set()),
    "sb_worker_routers_registered": (P, set()),
    # every process
    "process_cpu_seconds_total": (P, set()),
    "process_resident_memory_bytes": (P, set()),
    "process_start_time_seconds": (P, set()),
    "process_open_fds": (P, set()),
    "sb_ready": (P, set()),
    # inference dispatch
    "sb_infer_backend_inflight": (P, {"backend"}),
    "sb_infer_backend_requests_total": (P, {"backend"}),
    "sb_infer_backend_tokens_total": (P, {"backend"}),
    "sb_infer_backend_errors_total": (P, {"backend", "kind"}),
    "sb_infer_backend_time_to_first_token_seconds": (H, {"backend"}),
    "sb_infer_backend_up": (P, {"backend"}),
    "gen_ai_client_token_usage": (H, {"gen_ai_operation_name", "gen_ai_provider_name",
                                      "gen_ai_token_type", "gen_ai_request_model"}),
    "gen_ai_client_operation_duration_seconds": (H, {"gen_ai_operation_name",
                                                     "gen_ai_provider_name",
                                                     "gen_ai_request_model", "error_type"}),
    # edge
    "sb_edge_http_requests_total": (P, {"route", "code"}),
    "sb_edge_http_request_duration_seconds": (H, {"route"}),
    "sb_edge_inflight_requests": (P, set()),
    "gen_ai_server_time_to_first_token_seconds": (H, {"gen_ai_operation_name",
                                                      "gen_ai_request_model"}),
    "gen_ai_server_request_duration_seconds": (H, {"gen_ai_operation_name",
                                                   "gen_ai_request_model", "error_type"}),
    "gen_ai_server_time_per_output_token_seconds": (H, {"gen_ai_operation_name",
                                                        "gen_ai_request_model"}),
    # embeddings
    "sb_embed_memory_hits_total": (P, set()),
    "sb_embed_memory_misses_total": (P, set()),
    "sb_embed_redis_hits_total": (P, set()),
    "sb_embed_redis_misses_total": (P, set()),
    "sb_embed_inputs_total": (P, {"source"}),
    "sb_embed_backend_queue": (P, set()),
    "sb_embed_redis_up": (P, set()),
    "sb_embed_backend_calls_total": (P, set()),
    "sb_embed_backend_failures_total": (P, set()),
    # session
    "sb_session_redis_up": (P, set()),
    # health
    "sb_health_ready": (P, set()),
    "sb_health_router_up": (P, {"router"}),
    "sb_health_service_live_workers": (P, {"service"}),
    "sb_health_service_required": (P, {"service"}),
    "sb_health_redis_up": (P, {"node"}),
    "sb_health_redis_cluster_ok": (P, {"node"}),
    "sb_health_backend_up": (P, {"service", "backend"}),
    "sb_health_probe_duration_seconds": (H, {"target"}),
    "sb_health_probe_failures_total": (P, {"target"}),
    # Prometheus itself
    "up": (P, set()),
}
TARGET_LABELS = {"job", "instance"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
            "and", "or", "unless", "offset", "inf", "nan", "atan2"}


def allowed(name):
    """Return the label set for a metric name, or None if it is not allowed."""
    if name in CATALOGUE:
        kind, labels = CATALOGUE[name]
        return None if kind == H else labels
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in CATALOGUE and CATALOGUE[base][0] == H:
                labels = set(CATALOGUE[base][1])
                if suffix == "_bucket":
                    labels.add("le")
                return labels
    return None


STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}")
LABEL_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENT = re.compile(r"(?<![\w.:$])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w:])")


def metrics_in(expr):
    """Return (metric names, problems) for one PromQL expression.

    String literals are blanked first; label names inside {...} are checked
    against the metric they belong to; grouping clauses and range durations
    are removed before bare identifiers are read as metric names.
    """
    problems = []
    stripped = STRING.sub('""', expr)
    found = []
    for m in SELECTOR.finditer(stripped):
        name, body = m.group(1), m.group(2)
        if name in KEYWORDS:
            name = None
        labels = LABEL_NAME.findall(body)
        if name and "__name__" not in labels:
            found.append((name, labels))
        elif not name:
            problems.append(f"selector without a metric name: {{{body}}}")
    # Bare metric names (no braces).
    rest = SELECTOR.sub(" ", stripped)
    rest = re.sub(r"\[[^\]]*\]", " ", rest)
    rest = GROUPING.sub(" ", rest)
    for m in IDENT.finditer(rest):
        word = m.group(1)
        after = rest[m.end():].lstrip()
        if word.lower() in KEYWORDS or after.startswith("("):
            continue  # keyword, function or aggregation
        found.append((word, []))
    for name, labels in found:
        ok = allowed(name)
        if ok is None:
            problems.append(f"unknown metric {name}")
            continue
        for lab in labels:
            if lab not in ok and lab not in TARGET_LABELS:
                problems.append(f"{name} has no label {lab}")
    return {n for n, _ in found}, problems


def dashboard_exprs(path):
    d = json.load(open(path))
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((f"panel '{p.get('title')}' {t.get('refId')}", t["expr"]))
            walk(p.get("panels", []))

    walk(d.get("panels", []))
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q)
        out.append((f"variable ${v['name']}", m.group(1) if m else q))
    return d, out


def rule_exprs(path):
    out = []
    for g in (yaml.safe_load(open(path)) or {}).get("groups", []):
        for r in g.get("rules", []):
            name = r.get("alert") or r.get("record")
            out.append((f"{os.path.basename(path)} {name}", r["expr"]))
    return out


def promql_syntax(exprs):
    """Parse dashboard expressions with promtool (as recording rules)."""
    subst = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
             "$service": ".*", "$instance": ".*"}
    rules = []
    for i, (_, e) in enumerate(exprs):
        for k, v in subst.items():
            e = e.replace(k, v)
        rules.append({"record": f"dashboard:expr_{i}", "expr": e})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        name = f.name
    try:
        r = subprocess.run([PROMTOOL, "check", "rules", name], capture_output=True, text=True)
        return r.returncode == 0, (r.stdout + r.stderr).strip()
    finally:
        os.unlink(name)


def undefined_in_sources(source_root):
    """Catalogue names no C++ source of the suite registers (as a string literal)."""
    text = []
    for top in ("common", "services"):
        for dirpath, _, files in os.walk(os.path.join(source_root, top)):
            for f in files:
                if f.endswith(".cpp"):
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        text.append(fh.read())
    text = "\n".join(text)
    return sorted(n for n in CATALOGUE if n != "up" and f'"{n}"' not in text)


def main():
    bad = 0
    source_root = os.path.dirname(os.path.abspath(ROOT))
    for name in undefined_in_sources(source_root):
        print(f"PROBLEM catalogue: {name} is not registered by any source under {source_root}")
        bad += 1
    dash_path = os.path.join(ROOT, "grafana", "switchboard-dashboard.json")
    rule_paths = [os.path.join(ROOT, "prometheus", n) for n in ("alerts.yml", "recording.yml")]
    dash, dexprs = dashboard_exprs(dash_path)
    rexprs = [x for p in rule_paths if os.path.exists(p) for x in rule_exprs(p)]

    used = set()
    for where, expr in dexprs + rexprs:
        names, problems = metrics_in(expr)
        used |= names
        for p in problems:
            print(f"PROBLEM {where}: {p}")
            bad += 1

    panel_exprs = [x for x in dexprs if not x[0].startswith("variable")]
    ok, out = promql_syntax(panel_exprs)
    print(f"promtool parse of {len(panel_exprs)} dashboard panel expressions: {'ok' if ok else 'FAILED'}")
    if not ok:
        print(out)
        bad += 1

    # Dashboard structure: schema version, datasource variable, variables, units.
    var_names = {v["name"] for v in dash["templating"]["list"]}
    for need in ("datasource", "service", "instance"):
        if need not in var_names:
            print(f"PROBLEM dashboard: missing template variable {need}")
            bad += 1
    if dash.get("schemaVersion") != 39:
        print("PROBLEM dashboard: schemaVersion is not 39")
        bad += 1
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        print("PROBLEM dashboard: duplicate panel ids")
        bad += 1
    for p in dash["panels"]:
        if p["type"] == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}" or any(
                t.get("datasource", {}).get("uid") != "${datasource}" for t in p["targets"]):
            print(f"PROBLEM panel '{p['title']}': datasource is not ${{datasource}}")
            bad += 1

    catalogue_series = set(CATALOGUE) - {"up"}
    bases = {re.sub(r"_(bucket|sum|count)$", "", n) if allowed(n) is not None and n not in CATALOGUE
             else n for n in used}
    unused = sorted(catalogue_series - bases)
    print(f"metric names referenced: {len(used)}; all in the catalogue: {'yes' if not bad else 'see problems'}")
    print("catalogue metrics not used anywhere: " + (", ".join(unused) or "none"))
    print("RESULT: " + ("OK" if not bad else f"{bad} problem(s)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
