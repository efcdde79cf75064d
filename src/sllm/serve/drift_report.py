"""A drift report of logged prompts against a profile: the measures over all of them and over
consecutive windows, as a dict (for tables and --json) and as a self-contained HTML page.

The page draws the windows with plotly, its JavaScript inlined, so it opens offline (~5 MB).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from sllm.serve.drift import MEASURES, Reference
from sllm.serve.prompt_files import PromptRow

PSI_STABLE, PSI_MAJOR = 0.1, 0.25  # the usual reading of PSI: stable below, major shift above


def drift_report(profile: dict[str, Any], rows: list[PromptRow], window: int = 200,
                 encoder: Any = None) -> dict[str, Any]:  # fmt: skip
    """Measures over every prompt and over consecutive windows of `window` prompts (the last may be
    shorter); each prompt is embedded once."""
    if window < 1:
        raise ValueError("window must be at least 1")
    reference = Reference(profile, encoder)
    features = reference.features([r.text for r in rows])
    windows = []
    for start in range(0, len(rows), window):
        chunk = features[start : start + window]
        windows.append({
            "index": len(windows) + 1, "first": start + 1, "last": start + len(chunk),
            "first_time": rows[start].time, "last_time": rows[start + len(chunk) - 1].time,
            "measures": reference.measures(chunk),
        })  # fmt: skip
    embedding = profile["embedding"]
    return {
        "prompts": len(rows),
        "window": window,
        "embedding_space": embedding["space"],
        "encoder": embedding.get("encoder"),
        "overall": reference.measures(features),
        "windows": windows,
    }


def _number(value: float) -> str:
    return "n/a" if isinstance(value, float) and math.isnan(value) else f"{value:.3f}"


def write_html(report: dict[str, Any], path: str | Path, title: str = "sllm drift report") -> Path:
    """A self-contained HTML page: the overall measures, then each measure over the windows."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    windows = report["windows"]
    x = [f"{w['first']}-{w['last']}" for w in windows]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("PSI (lower is closer to the reference)",
                                        "shift and distances (0 = as the reference)"))  # fmt: skip
    for measure in ("psi_length", "psi_words", "psi_hangul"):
        fig.add_trace(go.Scatter(x=x, y=[w["measures"][measure] for w in windows], name=measure,
                                 mode="lines+markers"), row=1, col=1)  # fmt: skip
    for measure in ("language_shift", "embedding_distance", "embedding_outliers", "ngram_distance"):
        fig.add_trace(go.Scatter(x=x, y=[w["measures"][measure] for w in windows], name=measure,
                                 mode="lines+markers"), row=2, col=1)  # fmt: skip
    for level, colour in ((PSI_STABLE, "orange"), (PSI_MAJOR, "red")):
        fig.add_hline(y=level, line_dash="dot", line_color=colour, row=1, col=1)
    fig.update_xaxes(title_text=f"prompts of the log (windows of {report['window']})", row=2, col=1)
    fig.update_layout(height=720, margin={"t": 60, "l": 50, "r": 20, "b": 50})
    plot = fig.to_html(full_html=False, include_plotlyjs=True, default_width="100%")
    cells = "".join(
        f"<tr><td>{html.escape(m)}</td><td>{_number(report['overall'][m])}</td></tr>" for m in MEASURES
    )
    facts = (
        f"{report['prompts']} prompts; embedding space {html.escape(str(report['embedding_space']))}"
        f" ({html.escape(str(report['encoder'] or 'character 2-4-grams'))})"
    )
    data = json.dumps(report, default=str).replace("</", "<\\/")  # the report's numbers, machine-readable
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}td:first-child{{text-align:left}}</style>
</head><body><h1>{html.escape(title)}</h1><p>{facts}</p>
<h2>All prompts</h2><table><tr><th>measure</th><th>value</th></tr>{cells}</table>
<p>PSI: under {PSI_STABLE} stable, {PSI_STABLE}-{PSI_MAJOR} a moderate shift, over {PSI_MAJOR} a major.</p>
<h2>By window</h2>{plot}
<script type="application/json" id="drift-report">{data}</script>
</body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
