"""deploy/: the Grafana dashboard queries only what `sllm serve` exposes, and Prometheus finds it.

Every PromQL expression of the dashboard is tokenised and parsed far enough to know its metric
selectors (name and label matchers); each name must be a sample `ServerMetrics` exposes and each
matched label one that sample carries (or a target label Prometheus adds). A renamed metric or
label breaks this test instead of leaving an empty panel.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from sllm.serve.metrics import ServerMetrics

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "sllm-dashboard.json"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"

TARGET_LABELS = {"instance", "job"}  # added by Prometheus at scrape time
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset"}
FUNCTIONS = {
    "sum", "avg", "max", "min", "count", "topk", "bottomk", "quantile", "stddev", "count_values",
    "rate", "irate", "increase", "delta", "histogram_quantile", "abs", "clamp_min", "clamp_max",
    "label_replace", "absent", "changes", "resets", "time", "vector", "scalar", "avg_over_time",
    "max_over_time", "min_over_time", "sum_over_time", "last_over_time", "deriv", "round",
}  # fmt: skip
TOKEN = re.compile(
    r"""\s+|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<range>\[[^\]]+\])"""
    r"|(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)"
    r"|(?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>(){},])"
)


def tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) pairs; anything PromQL has no token for fails the test."""
    out, pos = [], 0
    while pos < len(expr):
        match = TOKEN.match(expr, pos)
        assert match, f"cannot tokenise {expr[pos : pos + 20]!r} in {expr!r}"
        if match.lastgroup:
            out.append((match.lastgroup, match.group()))
        pos = match.end()
    return out


def selectors(expr: str) -> list[tuple[str, dict[str, str]]]:
    """The metric selectors of a PromQL expression: (metric name, {label: matched value})."""
    toks = tokens(expr) + [("end", "")]
    found, depth, i = [], 0, 0
    while i < len(toks) - 1:
        kind, text = toks[i]
        following = toks[i + 1][1]
        if text in "()":
            depth += 1 if text == "(" else -1
            assert depth >= 0, f"unbalanced ')' in {expr!r}"
        elif kind == "name" and text in GROUPING:
            if following != "(" and text.startswith("group_"):  # group_left alone: no extra labels
                i += 1
                continue
            assert following == "(", f"'{text}' without a label list in {expr!r}"
            close = next(j for j in range(i + 1, len(toks)) if toks[j][1] == ")")
            assert all(k in ("name", "op") for k, _ in toks[i + 2 : close]), expr
            i = close
        elif kind == "name" and (following == "(" or following in ("by", "without")):
            assert text in FUNCTIONS, f"unknown function '{text}' in {expr!r}"
        elif kind == "name" and text not in KEYWORDS:
            labels: dict[str, str] = {}
            if following == "{":
                i += 2
                while toks[i][1] != "}":
                    (lk, label), (ok, _), (vk, value) = toks[i : i + 3]
                    assert (lk, ok, vk) == ("name", "op", "string"), f"bad label matcher in {expr!r}"
                    labels[label] = value[1:-1]
                    i += 3
                    if toks[i][1] == ",":
                        i += 1
            found.append((text, labels))
        i += 1
    assert depth == 0, f"unbalanced '(' in {expr!r}"
    return found


def exposed() -> dict[str, set[str]]:
    """Every sample name `sllm serve` exposes, with its label names (labelled metrics used once)."""
    metrics = ServerMetrics("m")
    metrics.serving("default", "1", "hf|x")
    metrics.http.labels("/v1/completions", "200").inc()
    metrics.success.labels("m", "stop").inc()
    metrics.drift.labels("m", "prompt_length").set(0.1)
    suffixes = {"histogram": ("_bucket", "_sum", "_count", "_created"), "counter": ("_total", "_created")}
    names: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for suffix in suffixes.get(family.type, ("",)):
            names.setdefault(family.name + suffix, set())
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels() -> list[dict]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def panel_metrics(panel: dict) -> set[str]:
    return {name for t in panel["targets"] for name, _ in selectors(t["expr"])}


def test_the_promql_reader_finds_selectors_and_rejects_nonsense() -> None:
    expr = (
        'histogram_quantile(0.9, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket'
        '{model_name="$model_name", instance=~"$instance"}[$__rate_interval])))'
        " / on(instance) group_left up"
    )  # fmt: skip
    assert selectors(expr) == [
        ("vllm:e2e_request_latency_seconds_bucket", {"model_name": "$model_name", "instance": "$instance"}),
        ("up", {}),
    ]
    for bad in ("sum(rate(x[5m])", "rat(x[5m])", "x{a=1}", "x @@ y"):
        with pytest.raises(AssertionError):
            selectors(bad)


def test_every_dashboard_query_reads_a_metric_sllm_serve_exposes() -> None:
    names = exposed()
    used = 0
    for panel in panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
            for name, labels in selectors(target["expr"]):
                used += 1
                assert name in names, (
                    f"panel '{panel['title']}' queries {name}, which sllm serve does not expose"
                )
                unknown = set(labels) - names[name] - TARGET_LABELS
                assert not unknown, f"panel '{panel['title']}': {name} has no label(s) {sorted(unknown)}"
                if "model_name" in names[name]:
                    assert labels.get("model_name") == "$model_name", f"{panel['title']}: {target['expr']}"
    assert used > 25


def test_the_dashboard_has_vllms_panel_set_and_ours() -> None:
    by_metric = {name: p["title"] for p in panels() for name in panel_metrics(p)}
    wanted = [
        "vllm:time_to_first_token_seconds_bucket", "vllm:e2e_request_latency_seconds_bucket",
        "vllm:inter_token_latency_seconds_bucket", "vllm:prompt_tokens_total", "vllm:generation_tokens_total",
        "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:request_success_total",
        "vllm:request_queue_time_seconds_sum", "sllm_http_requests_total", "sllm_batch_size_bucket",
        "sllm_model_info", "sllm_drift", "process_cpu_seconds_total", "process_resident_memory_bytes",
    ]  # fmt: skip
    assert [m for m in wanted if m not in by_metric] == []
    finish = [t["expr"] for p in panels() for t in p["targets"] if "request_success_total" in t["expr"]]
    assert all("by (finished_reason)" in e for e in finish)
    percentile_panels = [p for p in panels() if "histogram_quantile(0.99" in json.dumps(p["targets"])]
    assert len(percentile_panels) >= 3  # e2e, TTFT, ITL with P50..P99
    assert len({p["id"] for p in dashboard()["panels"]}) == len(dashboard()["panels"])


def test_the_dashboard_asks_for_its_data_source_and_model() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert variables["model_name"]["type"] == "query"
    assert "model_name" in variables["model_name"]["definition"]


def test_prometheus_scrapes_sllm_serve_on_loopback() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    assert config["global"]["scrape_interval"].endswith("s")
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8000"]
    assert "vllm serve" in PROMETHEUS.read_text(encoding="utf-8")  # how to add one beside it


def test_grafana_provisioning_points_at_that_prometheus_and_the_dashboard() -> None:
    provisioning = DASHBOARD.parent / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8"))
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://127.0.0.1:9090"
    boards = yaml.safe_load((provisioning / "dashboards" / "sllm.yml").read_text(encoding="utf-8"))
    assert boards["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
