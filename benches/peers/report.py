#!/usr/bin/env python3
"""Renders BENCHMARKS.md and the SVG plot from a results.json written by bench.py.

    python3 benches/peers/report.py benches/peers/out/results.json [--markdown BENCHMARKS.md] [--svg peers.svg]

Everything in the output is computed from the results; nothing is written by hand.
"""

import argparse
import math
import os
import sys
from html import escape

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

TARGETS = {"mobilenet_v2": 0.70, "mobilenet_v1": 0.80}
TARGET_SCALING = 1.8
TARGET_LAYER_RATIO = 1.0


# ---------------------------------------------------------------------------------------------
# Reading the results
# ---------------------------------------------------------------------------------------------


class Results:
    """Convenience accessors over the results.json object."""

    def __init__(self, obj):
        self.obj = obj
        self.meta = obj["meta"]
        self.cases = obj["cases"]
        self.runtimes = self.meta["runtimes"]
        self.labels = {rt["key"]: rt["label"] for rt in self.runtimes}

    def keys(self, threads, sepconv=None):
        """Runtime keys with that thread count; sepconv=True/False keeps only/drops sepconv."""
        return [rt["key"] for rt in self.runtimes if rt["threads"] == threads
                and (sepconv is None or (rt["engine"] == "sepconv") == sepconv)]

    @staticmethod
    def cell(case, key):
        return case["cells"].get(key)

    def ms(self, case, key, stat="median_ms"):
        c = self.cell(case, key)
        return None if c is None or c.get("failed") else c.get(stat)

    def disagrees(self, case, key):
        c = self.cell(case, key)
        return bool(c and (c.get("agreement") or {}).get("disagrees"))

    def best_peer(self, case, threads, stat="median_ms"):
        """(key, ms) of the fastest peer at that thread count that ran and agrees, or (None, None)."""
        best = (None, None)
        for key in self.keys(threads, sepconv=False):
            ms = self.ms(case, key, stat)
            if ms is None or self.disagrees(case, key):
                continue
            if best[1] is None or ms < best[1]:
                best = (key, ms)
        return best

    def ratio(self, case, threads, stat="median_ms"):
        """sepconv time / best peer time (<= 1: sepconv faster), or None."""
        s = self.ms(case, f"sepconv_{threads}t", stat)
        _, b = self.best_peer(case, threads, stat)
        return s / b if s and b else None

    def case(self, name):
        return next((c for c in self.cases if c["name"] == name), None)


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


def fmt_ms(ms):
    if ms is None:
        return "—"
    if ms >= 100:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}" if ms >= 0.1 else f"{ms:.4f}"


def fmt_cell(res, case, key, stat="median_ms", gflops=True):
    c = res.cell(case, key)
    if c is None:
        return "—"
    if c.get("failed"):
        return "failed: " + c["failed"].replace("|", "\\|")
    ms = c.get(stat)
    if ms is None:
        return "—"
    text = fmt_ms(ms)
    if gflops and ms > 0:
        text += f" ({case['mflop'] / ms:.1f})"
    if res.disagrees(case, key):
        text += " **DISAGREES**"
    return text


def max_spread(res, case, keys):
    spreads = [(res.cell(case, k) or {}).get("spread") for k in keys]
    spreads = [s for s in spreads if s is not None]
    return f"{100 * max(spreads):.0f}" if spreads else "—"


def fmt_ratio(res, case, threads, stat="median_ms"):
    r = res.ratio(case, threads, stat)
    if r is None:
        return "—"
    text = f"{r:.2f}"
    if res.disagrees(case, f"sepconv_{threads}t"):
        text += " (sepconv DISAGREES)"
    return text


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def speed_table(res, threads):
    sep = f"sepconv_{threads}t"
    keys = [k for k in res.keys(threads) if k != sep]
    all_keys = ([sep] if sep in res.labels else []) + keys
    header = ["case", "MFLOP"] + [f"{res.labels[k]} ms (GFLOP/s)" for k in all_keys]
    header += ["best peer", "sepconv ÷ best peer"]
    if threads == 2:
        header.append("sepconv 2T speed-up over 1T")
    header.append("max spread %")
    rows = []
    for case in res.cases:
        best_key, _ = res.best_peer(case, threads)
        row = [case["name"], f"{case['mflop']:.2f}"] + [fmt_cell(res, case, k) for k in all_keys]
        row += [res.labels[best_key] if best_key else "—", fmt_ratio(res, case, threads)]
        if threads == 2:
            one, two = res.ms(case, "sepconv_1t"), res.ms(case, "sepconv_2t")
            row.append(f"{one / two:.2f}" if one and two else "—")
        row.append(max_spread(res, case, all_keys))
        rows.append(row)
    return table(header, rows)


def best_round_table(res):
    keys = [rt["key"] for rt in res.runtimes]
    header = ["case"] + [f"{res.labels[k]} ms" for k in keys] + ["1T: sepconv ÷ best peer",
                                                               "2T: sepconv ÷ best peer"]
    rows = []
    for case in res.cases:
        row = [case["name"]] + [fmt_cell(res, case, k, stat="min_ms", gflops=False) for k in keys]
        row += [fmt_ratio(res, case, 1, "min_ms"), fmt_ratio(res, case, 2, "min_ms")]
        rows.append(row)
    return table(header, rows)


def agreement_table(res):
    keys = [rt["key"] for rt in res.runtimes if rt["key"] != "ort_1t"]
    header = ["case", "max abs of ORT 1T output"] + [f"{res.labels[k]} abs / rel" for k in keys]
    rows = []
    for case in res.cases:
        ref = case.get("ref_max_abs")
        row = [case["name"], f"{ref:.3g}" if ref is not None else "no reference"]
        for k in keys:
            c = res.cell(case, k) or {}
            a = c.get("agreement") or {}
            if c.get("failed") and not a:
                row.append("failed")
            elif a.get("status") == "ok":
                text = f"{a['max_abs']:.2g} / {a['max_rel']:.2g}"
                row.append(text + (" **DISAGREES**" if a["disagrees"] else ""))
            elif a.get("status") == "shape":
                row.append(f"**DISAGREES** (shape {a['shape']} vs {a['ref_shape']})")
            else:
                row.append(a.get("status", "—"))
        rows.append(row)
    return table(header, rows)


def profile_table(res):
    rows = []
    for case in res.cases:
        p = case.get("sepconv_profile")
        if not p:
            continue
        if p.get("failed"):
            rows.append([case["name"], "failed: " + p["failed"], "", "", "", "", ""])
            continue
        e2e, best, ops = p["end_to_end_ms"], p.get("end_to_end_min_ms"), p["ops_ms"]
        out = best - ops if best is not None else None
        rows.append([case["name"], fmt_ms(e2e), fmt_ms(best), fmt_ms(ops),
                     "—" if out is None else fmt_ms(out) if out >= 0 else f"−{fmt_ms(-out)}",
                     f"{100 * out / best:.0f}" if out is not None and best > 0 else "—",
                     ", ".join(p.get("kernels", []))])
    if not rows:
        return "Not measured."
    return table(["case", "end to end median ms", "end to end min ms", "sum of op medians ms",
                  "min − ops ms", "min − ops % of min", "kernels"], rows)


def targets_section(res):
    lines = []
    peers1 = ", ".join(res.labels[k] for k in res.keys(1, sepconv=False)) or "none"
    for model, target in TARGETS.items():
        case = res.case(model)
        label = f"{model}, 1 thread: sepconv ÷ best peer ≤ {target:.2f}"
        if case is None:
            lines.append(f"- {label}: not measured (case not run)")
            continue
        r = res.ratio(case, 1)
        best_key, best_ms = res.best_peer(case, 1)
        s = res.ms(case, "sepconv_1t")
        if r is None:
            lines.append(f"- {label}: **not measured** (sepconv 1T: {fmt_cell(res, case, 'sepconv_1t', gflops=False)};"
                         f" best peer: {res.labels.get(best_key, 'none')})")
            continue
        ok = r <= target and not res.disagrees(case, "sepconv_1t")
        rb = res.ratio(case, 1, "min_ms")
        lines.append(f"- {label}: **{'met' if ok else 'NOT met'}** — {r:.2f} (sepconv 1T {fmt_ms(s)} ms, "
                     f"best peer {res.labels[best_key]} {fmt_ms(best_ms)} ms; best-round ratio "
                     f"{'n/a' if rb is None else f'{rb:.2f}'})" + (" — sepconv output DISAGREES" if res.disagrees(case, "sepconv_1t") else ""))
    for model in TARGETS:
        case = res.case(model)
        label = f"{model}: sepconv 2T speed-up over its 1T ≥ {TARGET_SCALING}"
        if case is None:
            lines.append(f"- {label}: not measured (case not run)")
            continue
        one, two = res.ms(case, "sepconv_1t"), res.ms(case, "sepconv_2t")
        if not one or not two:
            lines.append(f"- {label}: **not measured**")
            continue
        sp = one / two
        lines.append(f"- {label}: **{'met' if sp >= TARGET_SCALING else 'NOT met'}** — {sp:.2f} "
                     f"({fmt_ms(one)} ms → {fmt_ms(two)} ms)")
    for threads, note in ((1, ""), (2, " (the same check at 2 threads, for information)")):
        layers = [c for c in res.cases if c["kind"] == "layer"]
        label = f"every layer, {threads} thread{'s' if threads > 1 else ''}: sepconv ÷ best peer ≤ " \
                f"{TARGET_LAYER_RATIO:.1f}{note}"
        if not layers:
            lines.append(f"- {label}: not measured (no layer case run)")
            continue
        bad, worst = [], None
        for c in layers:
            r = res.ratio(c, threads)
            dis = res.disagrees(c, f"sepconv_{threads}t")
            if r is None or r > TARGET_LAYER_RATIO or dis:
                bad.append(f"{c['name']} {'n/a' if r is None else f'{r:.2f}'}" + (" DISAGREES" if dis else ""))
            if r is not None and (worst is None or r > worst[1]):
                worst = (c["name"], r)
        if not bad:
            lines.append(f"- {label}: **met** — all {len(layers)} layers (largest ratio {worst[1]:.2f}, "
                         f"{worst[0]})")
        else:
            lines.append(f"- {label}: **NOT met** — {len(bad)} of {len(layers)} layers above "
                         f"{TARGET_LAYER_RATIO:.1f} or without a ratio: " + ", ".join(bad))
    lines.append("")
    lines.append(f"Ratios are medians over rounds; the best peers at 1 thread are chosen among {peers1}. "
                 "A peer whose output DISAGREES is not a candidate.")
    return "\n".join(lines)


def how_section(res, svg_rel):
    m = res.meta
    mach = m.get("machine", {})
    sep = m.get("sepconv", {})
    v = m.get("versions", {})
    p = m["protocol"]
    oh = m.get("ort_call_overhead_us", {})
    out = []
    out.append(f"- Command: `{m['command']}` (wall time {m['wall_s'] / 60:.1f} min)")
    out.append(f"- Date: {m['started_utc']} to {m['finished_utc']} (UTC)")
    flags = " ".join(mach.get("simd_flags", [])) or "?"
    fam = f"family {mach.get('cpu_family')} model {mach.get('cpu_model')}" if mach.get("cpu_family") else ""
    hyp = f", under {mach['hypervisor']}" if mach.get("hypervisor") else ""
    out.append(f"- Machine: {mach.get('model_name', '?')} ({fam}), {mach.get('cpus', mach.get('cores'))} CPUs, "
               f"{mach.get('threads_per_core', '?')} thread(s) per core{hyp}; L1d {mach.get('l1d', '?')}, "
               f"L2 {mach.get('l2', '?')}, L3 {mach.get('l3', '?')}; SIMD flags: {flags}; {mach.get('platform', '')}")
    if sep:
        peak = sep.get("fma_peak_gflops")
        peak512 = sep.get("fma_peak_gflops_avx512")
        build = sep.get("build") or {}
        out.append(f"- sepconv {v.get('sepconv', sep.get('version', '?'))}: selected tier "
                   f"**{sep.get('selected_tier', '?')}** ({sep.get('selected_by', '?')}); "
                   f"build {build.get('profile', '?')} opt-level {build.get('opt_level', '?')}, "
                   f"{build.get('rustc', '?')}; FMA peak of one core from `sepconv bench --json` "
                   f"probe: {f'{peak:.1f} GFLOP/s' if peak else 'n/a'} (256-bit FMAs)"
                   + (f", {peak512:.1f} GFLOP/s (512-bit FMAs, what the avx512 tier and ONNX Runtime's "
                      f"AVX-512 kernels can reach)" if peak512 else ""))
    vers = ", ".join(f"{k} {v[k]}" for k in ("onnxruntime", "tract", "rten", "numpy", "onnx", "python") if k in v)
    out.append(f"- Versions: {vers}")
    rts = []
    for rt in m["runtimes"]:
        how = {"sepconv": f"`sepconv run MODEL --input X.npy --json --threads {rt['threads']}"
                          f"{' --pin' if rt['pinned'] else ''} --iters {p['min_iters']} --min-ms "
                          f"{p['min_ms']:.0f} --warmup {p['warmup']}`, one process per measurement"
                          + (" (threads **pinned** to cores)" if rt["pinned"] else ""),
               "onnxruntime": f"in-process Python, CPUExecutionProvider, ORT_SEQUENTIAL, ORT_ENABLE_ALL, "
                              f"intra_op_num_threads={rt['threads']}, inter_op_num_threads=1, "
                              "`run_with_iobinding` with bound input and preallocated output; one session "
                              "per case reused across rounds"}.get(
            rt["engine"], f"`peers-rs --engine {rt['engine']} --threads {rt['threads']}`, one process per "
                          "measurement, load time not counted" + (
                              f" (peers-rs notes: {m['peer_notes'][rt['label']]})"
                              if m.get("peer_notes", {}).get(rt["label"]) else ""))
        rts.append(f"  - {rt['label']}: {how}")
    out.append("- Runtimes:\n" + "\n".join(rts))
    if oh:
        out.append(f"- ONNX Runtime's Python call overhead (median call on a one-element Relu model): "
                   f"{oh.get('iobinding_1t', float('nan')):.1f} µs with IO binding (used here), "
                   f"{oh.get('run_1t', float('nan')):.1f} µs with `session.run` at 1 thread; "
                   f"{oh.get('iobinding_2t', float('nan')):.1f} / {oh.get('run_2t', float('nan')):.1f} µs at 2 "
                   "threads. It is included in the ORT times.")
    out.append(f"- Protocol: {p['rounds']} rounds{' (--quick)' if p['quick'] else ''}; {p['order']}. "
               f"One measurement = {p['warmup']} warm-up run(s), then timed runs until ≥ {p['min_ms']:.0f} ms "
               f"of timed time and ≥ {p['min_iters']} runs; its median is recorded. Per cell: median of the "
               "round medians (tables a, b), min over rounds (best-round table), spread = (max − min) / "
               "median of the round medians; `max spread %` in tables a and b is the largest spread "
               "among the row's cells (per-cell values in results.json).")
    g = m.get("generator", {})
    out.append(f"- Models: `benches/peers/make_models.py` (generator version {g.get('generator_version')}, "
               f"seed {g.get('seed')}, opset {g.get('opset')}): every layer of `sepconv bench`'s standard "
               "set as a one-node model (two for the separable ones), MobileNetV1/V2 1.0/224 with BN "
               "folded (He-scaled weights); MobileNetV3-Small/Large, EfficientNet-Lite0, ShuffleNetV2 "
               "x1.0, PP-LCNet x1.0 and SqueezeNet 1.1 at 224×224 from `tests/fixtures/families.py`, "
               "laid out as torch.onnx / paddle2onnx export them (symbolic batch, BN not folded, "
               "the exporters' shape arithmetic); NCHW float32, inputs uniform in [-1, 1]. MFLOP = 2 × "
               "multiply-adds of Conv, Gemm and MatMul.")
    if p.get("cases"):
        out.append(f"- Only the cases matching `{p['cases']}` were run.")
    for n in m.get("notes", []):
        out.append(f"- Note: {n}")
    out.append(f"- Plot: [{svg_rel}]({svg_rel}); raw results: `benches/peers/out/results.json` (not committed).")
    return "\n".join(out)


def render_markdown(results, svg_rel):
    res = Results(results)
    parts = [
        "# sepconv against its peers",
        "",
        "Generated by `benches/peers/bench.py` from the data of one run; do not edit by hand.",
        "Times in ms (GFLOP/s in brackets); `sepconv ÷ best peer` ≤ 1 means sepconv is faster. "
        "DISAGREES = output differs from ONNX Runtime 1T's by more than 1e-3 × max(1, max|ref|); "
        "such a runtime cannot be the best peer.",
        "",
        f"![sepconv against its peers]({svg_rel})",
        "",
        "## How it was made",
        "",
        how_section(res, svg_rel),
        "",
        "## (a) One thread",
        "",
        speed_table(res, 1),
        "",
        "## (b) Two threads",
        "",
        speed_table(res, 2),
        "",
        "## Best round (min over rounds of the round medians, ms)",
        "",
        "The least-disturbed estimate on a noisy host.",
        "",
        best_round_table(res),
        "",
        "## (c) Agreement with ONNX Runtime 1T",
        "",
        "Max abs diff / max rel diff (= max|a − b| / max|ref|) over the whole output.",
        "",
        agreement_table(res),
        "",
        "## sepconv: end to end vs its ops (1 thread, `sepconv run --profile`)",
        "",
        "One extra measurement per case after the rounds, not used in the tables above. sepconv "
        "computes in NHWC: for these NCHW models `Graph::run` converts the input NCHW → NHWC and the "
        "output NHWC → NCHW outside the ops. `min − ops` = fastest end-to-end run − sum of the "
        "per-op medians, an estimate of that time outside the ops (host noise inflates the "
        "end-to-end median more than the per-op medians, hence the min).",
        "",
        profile_table(res),
        "",
        "## (d) Targets",
        "",
        targets_section(res),
        "",
    ]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# SVG
# ---------------------------------------------------------------------------------------------


ENGINE_COLORS = {"sepconv": ("#d95f02", "#fdb863"), "onnxruntime": ("#1f78b4", "#a6cee3"),
                 "tract": ("#33a02c", "#b2df8a"), "rten": ("#6a3d9a", "#cab2d6")}
FONT = "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\""


class Svg:
    def __init__(self):
        self.items = []

    def rect(self, x, y, w, h, fill, **kw):
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in kw.items())
        self.items.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                          f'fill="{fill}"{extra}/>')

    def line(self, x1, y1, x2, y2, stroke="#000", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.items.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
                          f'stroke-width="{width}"{d}/>')

    def text(self, x, y, s, size=12, anchor="start", weight="normal", fill="#222", rotate=None):
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
        self.items.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                          f'font-weight="{weight}" fill="{fill}" {FONT}{tr}>{escape(s)}</text>')

    def render(self, width, height):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}">\n<rect width="100%" height="100%" fill="#fff"/>\n'
                + "\n".join(self.items) + "\n</svg>\n")


def speedup_panel(svg, res, top, width):
    """Horizontal bars: best peer ms / sepconv ms per case, 1T and 2T, log2 axis, 1.0 line."""
    label_w, right_pad = 190, 120
    x0, x1 = label_w, width - right_pad
    row_h, bar_h = 30, 11
    rows = []
    for case in res.cases:
        vals = []
        for threads in (1, 2):
            s = res.ms(case, f"sepconv_{threads}t")
            best_key, b = res.best_peer(case, threads)
            if s and b:
                vals.append((b / s, res.labels[best_key], res.disagrees(case, f"sepconv_{threads}t")))
            else:
                why = "sepconv failed" if (res.cell(case, f"sepconv_{threads}t") or {}).get("failed") else \
                    "no peer" if not b else "n/a"
                vals.append((None, why, False))
        rows.append((case["name"], vals))
    finite = [v[0] for _, vals in rows for v in vals if v[0]]
    lo = min([0.5] + [f / 1.15 for f in finite])
    hi = max([2.0] + [f * 1.15 for f in finite])
    lo_e, hi_e = math.floor(math.log2(lo)), math.ceil(math.log2(hi))

    def xs(v):
        return x0 + (math.log2(v) - lo_e) / (hi_e - lo_e) * (x1 - x0)

    svg.text(width / 2, top + 18, "sepconv speed-up over the best peer (best peer ms ÷ sepconv ms; "
             "> 1 = sepconv faster), median over rounds", size=15, anchor="middle", weight="bold")
    # Legend.
    ly = top + 38
    for i, (name, color) in enumerate((("1 thread", ENGINE_COLORS["sepconv"][0]),
                                       ("2 threads (sepconv pinned)", ENGINE_COLORS["sepconv"][1]))):
        lx = x0 + i * 200
        svg.rect(lx, ly - 10, 14, 11, color)
        svg.text(lx + 20, ly, name, size=12)
    plot_top = top + 54
    plot_bottom = plot_top + row_h * len(rows)
    for e in range(lo_e, hi_e + 1):
        x = xs(2.0 ** e)
        svg.line(x, plot_top, x, plot_bottom, stroke="#ddd")
        v = 2.0 ** e
        svg.text(x, plot_bottom + 16, f"{v:g}×", size=11, anchor="middle", fill="#555")
    for i, (name, vals) in enumerate(rows):
        y = plot_top + i * row_h
        if i % 2 == 1:
            svg.rect(0, y, width, row_h, "#f6f6f6")
        svg.text(label_w - 10, y + row_h / 2 + 4, name, size=12, anchor="end")
        for j, (v, peer, dis) in enumerate(vals):
            by = y + 3 + j * (bar_h + 2)
            color = ENGINE_COLORS["sepconv"][j]
            if v is None:
                svg.text(xs(1.0) + 6, by + bar_h - 1, f"{j + 1}T: {peer}", size=10, fill="#888")
                continue
            xa, xb = sorted((xs(1.0), xs(v)))
            svg.rect(xa, by, xb - xa, bar_h, color)
            label = f"{v:.2f}× vs {peer}" + (" (sepconv DISAGREES)" if dis else "")
            # Right of the bar when it grows right (> 1), right of the 1.0 line when it grows left.
            svg.text((xb if v >= 1 else xs(1.0)) + 4, by + bar_h - 1, label, size=10, fill="#333")
    svg.line(xs(1.0), plot_top - 4, xs(1.0), plot_bottom + 2, stroke="#000", width=1.5)
    svg.line(x0, plot_bottom, x1, plot_bottom, stroke="#888")
    svg.text((x0 + x1) / 2, plot_bottom + 34, "speed-up (log scale)", size=12, anchor="middle", fill="#555")
    return plot_bottom + 44


MODELS_PER_ROW = 4


def models_panel(svg, res, top, width):
    """Grouped vertical bars: every model's latency on every runtime, ms labels; up to
    MODELS_PER_ROW models per row, each row on its own scale."""
    models = [c for c in res.cases if c["kind"] == "model"]
    svg.text(width / 2, top + 18, "Model latency per runtime (median over rounds, ms; lower is better)",
             size=15, anchor="middle", weight="bold")
    if not models:
        svg.text(width / 2, top + 50, "no model case was run", size=12, anchor="middle")
        return top + 70
    for i in range(0, len(models), MODELS_PER_ROW):
        top = models_row(svg, res, models[i:i + MODELS_PER_ROW], top if i == 0 else top - 40, width)
    return top


def models_row(svg, res, models, top, width):
    rts = res.runtimes
    plot_top, plot_h = top + 60, 260
    plot_bottom = plot_top + plot_h
    x0, x1 = 70, width - 20
    vals = [res.ms(c, rt["key"]) for c in models for rt in rts]
    vmax = max([v for v in vals if v] or [1.0]) * 1.12
    step = 10 ** math.floor(math.log10(vmax / 5))
    step *= 5 if vmax / step > 25 else 2 if vmax / step > 10 else 1
    t = 0.0
    while t <= vmax:
        y = plot_bottom - t / vmax * plot_h
        svg.line(x0, y, x1, y, stroke="#e4e4e4")
        svg.text(x0 - 6, y + 4, f"{t:g}", size=11, anchor="end", fill="#555")
        t += step
    svg.text(20, plot_top + plot_h / 2, "ms", size=12, anchor="middle", rotate=-90, fill="#555")
    group_w = (x1 - x0) / len(models)
    bar_w = min(56, group_w / (len(rts) + 1))
    for gi, case in enumerate(models):
        gx = x0 + gi * group_w + (group_w - bar_w * len(rts)) / 2
        for i, rt in enumerate(rts):
            x = gx + i * bar_w
            c = res.cell(case, rt["key"]) or {}
            colors = ENGINE_COLORS.get(rt["engine"], ("#777", "#bbb"))
            color = colors[0] if rt["threads"] == 1 else colors[1]
            v = res.ms(case, rt["key"])
            if v:
                h = v / vmax * plot_h
                svg.rect(x + 3, plot_bottom - h, bar_w - 6, h, color)
                lab = fmt_ms(v) + (" ≠" if res.disagrees(case, rt["key"]) else "")
                svg.text(x + bar_w / 2, plot_bottom - h - 5, lab, size=11, anchor="middle")
            else:
                svg.text(x + bar_w / 2, plot_bottom - 6, "failed" if c.get("failed") else "—", size=10,
                         anchor="middle", fill="#a00", rotate=-90)
            name = {"onnxruntime": "ORT"}.get(rt["engine"], rt["engine"])
            svg.text(x + bar_w / 2, plot_bottom + 15, name, size=10, anchor="middle")
            svg.text(x + bar_w / 2, plot_bottom + 28, f"{rt['threads']}T" + (" pin" if rt["pinned"] else ""),
                     size=10, anchor="middle", fill="#555")
        svg.text(x0 + gi * group_w + group_w / 2, plot_bottom + 50,
                 f"{case['name']} ({case['mflop']:.0f} MFLOP)", size=13, anchor="middle", weight="bold")
    svg.line(x0, plot_bottom, x1, plot_bottom, stroke="#888")
    return plot_bottom + 62


def render_svg(results, width=1000):
    res = Results(results)
    svg = Svg()
    y = speedup_panel(svg, res, 10, width)
    y = models_panel(svg, res, y + 10, width)
    m = res.meta
    mach = m.get("machine", {})
    sep = m.get("sepconv", {})
    svg.text(10, y + 14, f"{m['started_utc']} · {mach.get('model_name', '?')}, {mach.get('cpus', '?')} CPUs · "
             f"sepconv tier {sep.get('selected_tier', '?')} · {m['protocol']['rounds']} rounds, "
             f"≥ {m['protocol']['min_ms']:.0f} ms per measurement"
             + (" (--quick)" if m["protocol"]["quick"] else "") + " · see BENCHMARKS.md", size=10, fill="#777")
    return svg.render(width, int(y + 24))


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_reports(results, markdown_path, svg_path):
    svg_rel = os.path.relpath(svg_path, os.path.dirname(os.path.abspath(markdown_path)))
    _write(markdown_path, render_markdown(results, svg_rel))
    _write(svg_path, render_svg(results))


def main(argv=None):
    import json

    ap = argparse.ArgumentParser(description="Render BENCHMARKS.md and the SVG from results.json.")
    ap.add_argument("results", help="results.json written by bench.py")
    ap.add_argument("--markdown", default=os.path.join(REPO, "BENCHMARKS.md"))
    ap.add_argument("--svg", default=os.path.join(HERE, "peers.svg"))
    args = ap.parse_args(argv)
    with open(args.results) as f:
        results = json.load(f)
    write_reports(results, args.markdown, args.svg)
    print(f"wrote {args.markdown} and {args.svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
