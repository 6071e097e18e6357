#!/usr/bin/env python3
"""Side-by-side benchmark of sepconv against its peers (ONNX Runtime, tract, rten).

    python3 benches/peers/bench.py [--quick] [--rounds N] [--cases REGEX] ...

Normally started by `bash benches/peers/run.sh`, which builds the binaries and sets up the
venv first. It:

1. generates the ONNX models and inputs (make_models.py; skipped when up to date);
2. times every case on every runtime: sepconv 1T and 2T (pinned), ONNX Runtime 1T and 2T
   (in-process, IO binding), tract 1T (and 2T if peers-rs accepts it), rten 1T and 2T (through
   the `peers-rs` Rust runner). Several rounds; each round visits every case and, inside a case,
   every runtime, in an order that is reversed every other round. One measurement = warm-up
   runs, then timed runs until both --min-ms of timed time and --min-iters runs are reached;
   its median is recorded. Per cell: median, min and spread of the round medians;
3. checks every runtime's output against ONNX Runtime 1T's;
4. writes out/results.json, BENCHMARKS.md (repo root) and benches/peers/peers.svg (report.py).

A runtime that fails on a case is recorded as a failed cell, never a crash of the run.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime as ort

import make_models
import report

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SUBPROCESS_TIMEOUT_S = 600


# ---------------------------------------------------------------------------------------------
# Configuration and results
# ---------------------------------------------------------------------------------------------


@dataclass
class Config:
    models_dir: str
    out_dir: str
    sepconv: str
    peers_rs: str
    no_peers_rs: str
    rounds: int
    min_ms: float
    min_iters: int
    warmup: int
    quick: bool
    case_pattern: str
    markdown: str
    svg: str
    command: str


class RuntimeFailure(Exception):
    """A runtime could not run a case; the message goes into the table."""


@dataclass
class Measurement:
    median_ms: float
    min_ms: float
    iters: int
    output: np.ndarray = None  # only when asked for
    version: str = None
    notes: str = None


@dataclass
class Cell:
    """One (case, runtime) cell across rounds."""

    round_medians: list = field(default_factory=list)
    round_mins: list = field(default_factory=list)
    round_iters: list = field(default_factory=list)
    failed: str = None
    agreement: dict = None

    def summary(self):
        d = {
            "round_medians_ms": self.round_medians,
            "round_mins_ms": self.round_mins,
            "round_iters": self.round_iters,
            "failed": self.failed,
            "agreement": self.agreement,
        }
        if self.round_medians and not self.failed:
            med = float(np.median(self.round_medians))
            d["median_ms"] = med
            d["min_ms"] = float(min(self.round_medians))
            d["spread"] = (max(self.round_medians) - min(self.round_medians)) / med if med > 0 else 0.0
        return d


# ---------------------------------------------------------------------------------------------
# Runtimes
# ---------------------------------------------------------------------------------------------


def _run_json(cmd, what):
    """Runs cmd, returns its stdout's last line parsed as JSON; RuntimeFailure on any error."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeFailure(f"{what}: timed out after {SUBPROCESS_TIMEOUT_S} s")
    except OSError as e:
        raise RuntimeFailure(f"{what}: {e}")
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
        raise RuntimeFailure(err.removeprefix("error: ")[:200])
    lines = [line for line in p.stdout.strip().splitlines() if line.strip()]
    if not lines:
        raise RuntimeFailure(f"{what}: no output")
    try:
        return json.loads(lines[-1])
    except ValueError:
        raise RuntimeFailure(f"{what}: output is not JSON: {lines[-1][:120]}")


def _load_output(path):
    try:
        return np.load(path)
    except (OSError, ValueError) as e:
        raise RuntimeFailure(f"cannot read its output {os.path.basename(path)}: {e}")


class SepconvRuntime:
    engine = "sepconv"

    def __init__(self, binary, threads, pin):
        self.binary = binary
        self.threads = threads
        self.pin = pin
        self.key = f"sepconv_{threads}t"
        self.label = f"sepconv {threads}T"

    def measure(self, case, cfg, output_path=None):
        cmd = [self.binary, "run", case["model_path"], "--input", case["input_path"],
               "--iters", str(cfg.min_iters), "--min-ms", str(int(round(cfg.min_ms))),
               "--warmup", str(cfg.warmup), "--threads", str(self.threads), "--json"]
        if self.pin:
            cmd.append("--pin")
        if output_path:
            cmd += ["--output", output_path]
        r = _run_json(cmd, "sepconv run")
        m = Measurement(r["median_ms"], r["min_ms"], r["iters"])
        if output_path:
            m.output = _load_output(output_path)
        return m


def sepconv_profile(binary, case, cfg):
    """`sepconv run --profile` at 1 thread: end-to-end median and the sum of the op medians (ms).

    The difference is what runs outside the ops: for these NCHW models mainly the NCHW <-> NHWC
    conversion of the input and output inside `Graph::run`."""
    cmd = [binary, "run", case["model_path"], "--input", case["input_path"], "--iters", str(cfg.min_iters),
           "--min-ms", str(int(round(cfg.min_ms))), "--warmup", str(cfg.warmup), "--threads", "1",
           "--json", "--profile"]
    r = _run_json(cmd, "sepconv run --profile")
    layers = r.get("layers") or []
    return {"end_to_end_ms": r["median_ms"], "end_to_end_min_ms": r["min_ms"], "ops_ms": sum(layer["median_us"] for layer in layers) / 1e3,
            "steps": len(layers), "iters": r["iters"],
            "kernels": sorted({layer["kernel"] for layer in layers})}


class PeersRsRuntime:
    def __init__(self, binary, engine, threads):
        self.binary = binary
        self.engine = engine
        self.threads = threads
        self.pin = False
        self.key = f"{engine}_{threads}t"
        self.label = f"{engine} {threads}T"

    def command(self, model, inp, cfg, output_path=None):
        cmd = [self.binary, "--engine", self.engine, "--model", model, "--input", inp,
               "--threads", str(self.threads), "--warmup", str(cfg.warmup),
               "--min-ms", str(cfg.min_ms), "--min-iters", str(cfg.min_iters),
               "--max-iters", "1000000"]
        if output_path:
            cmd += ["--output", output_path]
        return cmd

    def measure(self, case, cfg, output_path=None):
        r = _run_json(self.command(case["model_path"], case["input_path"], cfg, output_path),
                      f"peers-rs {self.engine}")
        if r.get("threads") not in (None, self.threads):
            raise RuntimeFailure(f"asked for {self.threads} threads, ran {r.get('threads')}")
        m = Measurement(float(r["median_ms"]), float(r["min_ms"]), int(r["iters"]),
                        version=r.get("engine_version"), notes=r.get("notes"))
        if output_path:
            m.output = _load_output(output_path)
        return m


def ort_session(model_path, threads):
    so = ort.SessionOptions()
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])


class BoundSession:
    """An ORT session with its input and a preallocated output bound (IO binding)."""

    def __init__(self, model_path, x, threads):
        self.session = ort_session(model_path, threads)
        inp = self.session.get_inputs()[0]
        out = self.session.get_outputs()[0]
        # One plain run to learn the output shape; every timed run then writes into `self.y`.
        y0 = self.session.run([out.name], {inp.name: x})[0]
        self.x = np.ascontiguousarray(x)
        self.y = np.empty_like(y0)
        self.binding = self.session.io_binding()
        self.binding.bind_cpu_input(inp.name, self.x)
        self.binding.bind_output(out.name, "cpu", 0, np.float32, list(self.y.shape),
                                 self.y.ctypes.data)

    def run(self):
        self.session.run_with_iobinding(self.binding)


class OrtRuntime:
    engine = "onnxruntime"

    def __init__(self, threads):
        self.threads = threads
        self.pin = False
        self.key = f"ort_{threads}t"
        self.label = f"ORT {threads}T"
        self.sessions = {}

    def session(self, case):
        """Created once per case and reused across rounds (creation is not timed)."""
        if case["name"] not in self.sessions:
            try:
                x = np.load(case["input_path"])
                self.sessions[case["name"]] = BoundSession(case["model_path"], x, self.threads)
            except Exception as e:  # ORT raises its own exception types
                raise RuntimeFailure(f"onnxruntime: {str(e).splitlines()[0][:200]}")
        return self.sessions[case["name"]]

    def measure(self, case, cfg, output_path=None):
        s = self.session(case)
        try:
            m = time_calls(s.run, cfg.warmup, cfg.min_iters, cfg.min_ms)
        except Exception as e:
            raise RuntimeFailure(f"onnxruntime: {str(e).splitlines()[0][:200]}")
        if output_path:
            m.output = s.y.copy()
            np.save(output_path, m.output)
        return m

    def output(self, case):
        """One untimed run's output (the reference every runtime is compared with)."""
        s = self.session(case)
        try:
            s.run()
        except Exception as e:
            raise RuntimeFailure(f"onnxruntime: {str(e).splitlines()[0][:200]}")
        return s.y.copy()


def time_calls(fn, warmup, min_iters, min_ms):
    """Warm-up calls, then timed calls until min_iters and min_ms are both reached."""
    for _ in range(warmup):
        fn()
    times = []
    total = 0
    min_ns = min_ms * 1e6
    clock = time.perf_counter_ns
    while len(times) < min_iters or total < min_ns:
        t0 = clock()
        fn()
        dt = clock() - t0
        times.append(dt)
        total += dt
    times.sort()
    return Measurement(times[len(times) // 2] / 1e6, times[0] / 1e6, len(times))


# ---------------------------------------------------------------------------------------------
# Environment facts for the report
# ---------------------------------------------------------------------------------------------


SIMD_FLAGS = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "neon", "asimd"]


def machine_facts():
    facts = {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        kv = {}
        for line in out.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                kv[k.strip()] = v.strip()
        flags = kv.get("Flags", "").split()
        facts.update({
            "model_name": kv.get("Model name"),
            "cpu_family": kv.get("CPU family"),
            "cpu_model": kv.get("Model"),
            "cpus": kv.get("CPU(s)"),
            "threads_per_core": kv.get("Thread(s) per core"),
            "hypervisor": kv.get("Hypervisor vendor"),
            "l1d": kv.get("L1d cache"),
            "l2": kv.get("L2 cache"),
            "l3": kv.get("L3 cache"),
            "simd_flags": [f for f in SIMD_FLAGS if f in flags],
        })
    except (OSError, subprocess.SubprocessError):
        pass
    return facts


def sepconv_facts(binary, log):
    facts = {}
    try:
        info = json.loads(subprocess.run([binary, "info", "--json"], capture_output=True, text=True,
                                         check=True, timeout=60).stdout)
        facts.update({"version": info.get("version"), "selected_tier": info.get("selected"),
                      "selected_by": info.get("selected_by"), "build": info.get("build")})
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        log(f"warning: `sepconv info --json` failed: {e}")
    try:
        out = subprocess.run([binary, "bench", "--json", "--layers", "pw_192", "--min-ms", "100",
                              "--isa", facts.get("selected_tier") or "all"],
                             capture_output=True, text=True, check=True, timeout=300).stdout
        b = json.loads(out)
        facts["fma_peak_gflops"] = b.get("fma_peak_gflops")
        facts["fma_peak_gflops_avx512"] = b.get("fma_peak_gflops_avx512")
        facts["bench_build"] = b.get("build")
        facts["bench_rows"] = b.get("rows")
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        log(f"warning: `sepconv bench --json` failed: {e}")
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        facts["git"] = rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return facts


def ort_call_overhead_us(out_dir):
    """Median time of a session.run / run_with_iobinding call on a one-element Relu model."""
    x = np.ones((1, 1, 1, 1), np.float32)
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["input"], ["output"])], "tiny",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 1, 1, 1])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 1, 1, 1])])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = os.path.join(out_dir, "tiny_relu.onnx")
    onnx.save_model(model, path)
    result = {}
    for threads in (1, 2):
        bound = BoundSession(path, x, threads)
        plain = bound.session
        run_plain = lambda: plain.run(None, {"input": x})  # noqa: E731
        result[f"iobinding_{threads}t"] = time_calls(bound.run, 200, 2000, 100).median_ms * 1e3
        result[f"run_{threads}t"] = time_calls(run_plain, 200, 2000, 100).median_ms * 1e3
    return result


def probe_peers(binary, cases, cfg, log):
    """Which peers-rs (engine, threads) pairs to run; tract 2T only if a tiny run works."""
    runtimes = [PeersRsRuntime(binary, "tract", 1)]
    small = min(cases, key=lambda c: c["mflop"])
    probe_cfg = Config(**{**cfg.__dict__, "min_ms": 1, "min_iters": 1, "warmup": 0})
    t2 = PeersRsRuntime(binary, "tract", 2)
    try:
        r = _run_json(t2.command(small["model_path"], small["input_path"], probe_cfg), "peers-rs tract")
        if r.get("threads") == 2:
            runtimes.append(t2)
            log(f"probe: peers-rs runs tract with 2 threads ({r.get('notes') or 'no notes'}): included")
        else:
            log(f"probe: peers-rs tract --threads 2 reported threads={r.get('threads')}: tract 2T left out")
    except RuntimeFailure as e:
        log(f"probe: peers-rs tract --threads 2 failed ({e}): tract 2T left out")
    runtimes += [PeersRsRuntime(binary, "rten", 1), PeersRsRuntime(binary, "rten", 2)]
    return runtimes


# ---------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------


def agreement(y, ref):
    """Max abs / rel diff of y against the reference; DISAGREES above 1e-3 * max(1, max|ref|)."""
    if ref is None:
        return {"status": "no reference"}
    if y is None:
        return {"status": "no output"}
    if tuple(y.shape) != tuple(ref.shape):
        return {"status": "shape", "shape": list(y.shape), "ref_shape": list(ref.shape), "disagrees": True}
    ref_max = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = np.abs(y.astype(np.float64) - ref.astype(np.float64))
    max_abs = float(np.max(diff)) if diff.size else 0.0
    if not np.isfinite(max_abs):
        max_abs = float("inf")
    return {
        "status": "ok",
        "max_abs": max_abs,
        "max_rel": max_abs / ref_max if ref_max > 0 else max_abs,
        "ref_max_abs": ref_max,
        "tolerance": 1e-3 * max(1.0, ref_max),
        "disagrees": bool(max_abs > 1e-3 * max(1.0, ref_max)),
    }


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


class Progress:
    def __init__(self, total, log):
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self.log = log

    def step(self, round_no, rounds, case, label, text):
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        width = len(str(self.total))
        where = f"round {round_no}/{rounds}" if rounds else f"{round_no:<9}"
        self.log(f"[{self.done:>{width}}/{self.total}] {where}  {case:<20} "
                 f"{label:<11} {text:<40} ETA {int(eta // 60)}m{int(eta % 60):02d}s")


def load_cases(cfg, manifest):
    cases = []
    for c in manifest["cases"]:
        if cfg.case_pattern and not re.search(cfg.case_pattern, c["name"]):
            continue
        cases.append({**c, "model_path": os.path.join(cfg.models_dir, c["model"]),
                      "input_path": os.path.join(cfg.models_dir, c["input"])})
    return cases


def run_benchmark(cfg, log=print):
    started = datetime.datetime.now(datetime.timezone.utc)
    manifest = make_models.generate(cfg.models_dir, log=log)
    cases = load_cases(cfg, manifest)
    if not cases:
        raise SystemExit(f"error: no case matches --cases {cfg.case_pattern!r}")
    os.makedirs(cfg.out_dir, exist_ok=True)
    outputs_dir = os.path.join(cfg.out_dir, "outputs")
    os.makedirs(outputs_dir, exist_ok=True)

    notes = []
    runtimes = []
    if os.access(cfg.sepconv, os.X_OK):
        runtimes += [SepconvRuntime(cfg.sepconv, 1, False), SepconvRuntime(cfg.sepconv, 2, True)]
    else:
        notes.append(f"sepconv was not run: {cfg.sepconv} does not exist (cargo build --release?)")
    ort1, ort2 = OrtRuntime(1), OrtRuntime(2)
    runtimes += [ort1, ort2]
    if cfg.no_peers_rs:
        notes.append(f"tract and rten were not run: {cfg.no_peers_rs}")
    elif os.access(cfg.peers_rs, os.X_OK):
        runtimes += probe_peers(cfg.peers_rs, cases, cfg, log)
    else:
        notes.append(f"tract and rten were not run: no peers-rs binary at {cfg.peers_rs}")
    for n in notes:
        log("note: " + n)

    log("facts: machine, sepconv info and FMA peak, ORT call overhead ...")
    facts = {
        "machine": machine_facts(),
        "sepconv": sepconv_facts(cfg.sepconv, log) if os.access(cfg.sepconv, os.X_OK) else {},
        "ort_call_overhead_us": ort_call_overhead_us(cfg.out_dir),
    }
    log(f"ORT call overhead (1-element Relu): {facts['ort_call_overhead_us']['iobinding_1t']:.1f} us "
        f"with IO binding, {facts['ort_call_overhead_us']['run_1t']:.1f} us with session.run (1T)")

    cells = {c["name"]: {rt.key: Cell() for rt in runtimes} for c in cases}
    references = {}
    versions = {}
    peer_notes = {}
    profile = runtimes and runtimes[0].engine == "sepconv"
    progress = Progress(cfg.rounds * len(cases) * len(runtimes) + (len(cases) if profile else 0), log)
    for r in range(cfg.rounds):
        order = runtimes if r % 2 == 0 else list(reversed(runtimes))
        for case in cases:
            if r == 0:
                # The reference output, from ORT 1T, before any other runtime is compared with it.
                try:
                    references[case["name"]] = ort1.output(case)
                except RuntimeFailure as e:
                    log(f"note: no ORT 1T reference output for {case['name']}: {e}")
                    references[case["name"]] = None
            for rt in order:
                cell = cells[case["name"]][rt.key]
                if cell.failed:
                    progress.step(r + 1, cfg.rounds, case["name"], rt.label, "skipped (failed before)")
                    continue
                output_path = None
                if r == 0:
                    output_path = os.path.join(outputs_dir, f"{case['name']}.{rt.key}.npy")
                    if os.path.exists(output_path):
                        os.remove(output_path)
                try:
                    m = rt.measure(case, cfg, output_path=output_path)
                except RuntimeFailure as e:
                    cell.failed = str(e)
                    progress.step(r + 1, cfg.rounds, case["name"], rt.label, f"FAILED: {e}"[:60])
                    continue
                cell.round_medians.append(m.median_ms)
                cell.round_mins.append(m.min_ms)
                cell.round_iters.append(m.iters)
                if m.version:
                    versions[rt.engine] = m.version
                if m.notes and rt.label not in peer_notes:
                    peer_notes[rt.label] = f"on {case['name']}: {m.notes}"
                if r == 0:
                    cell.agreement = agreement(m.output, references[case["name"]])
                flag = " DISAGREES" if (cell.agreement or {}).get("disagrees") else ""
                progress.step(r + 1, cfg.rounds, case["name"], rt.label,
                              f"{m.median_ms:.3f} ms ({m.iters} iters){flag}")
    profiles = {}
    if profile:
        # Not part of the comparison: how much of sepconv's end-to-end time its ops take.
        for case in cases:
            try:
                p = sepconv_profile(cfg.sepconv, case, cfg)
                profiles[case["name"]] = p
                text = f"{p['end_to_end_ms']:.3f} ms end to end, {p['ops_ms']:.3f} ms in ops"
            except RuntimeFailure as e:
                profiles[case["name"]] = {"failed": str(e)}
                text = f"FAILED: {e}"[:60]
            progress.step("profile", "", case["name"], "sepconv 1T", text)
    finished = datetime.datetime.now(datetime.timezone.utc)

    versions.update({"onnxruntime": ort.__version__, "numpy": np.__version__, "onnx": onnx.__version__,
                     "python": platform.python_version()})
    if facts["sepconv"].get("version"):
        versions["sepconv"] = facts["sepconv"]["version"] + (
            f" (git {facts['sepconv']['git']})" if facts["sepconv"].get("git") else "")
    return {
        "meta": {
            "command": cfg.command,
            "started_utc": started.isoformat(timespec="seconds"),
            "finished_utc": finished.isoformat(timespec="seconds"),
            "wall_s": (finished - started).total_seconds(),
            "protocol": {"rounds": cfg.rounds, "min_ms": cfg.min_ms, "min_iters": cfg.min_iters,
                         "warmup": cfg.warmup, "quick": cfg.quick, "cases": cfg.case_pattern or None,
                         "order": "every round visits every case; inside a case the runtimes run in "
                                  "the listed order on even rounds and reversed on odd rounds"},
            "runtimes": [{"key": rt.key, "label": rt.label, "engine": rt.engine, "threads": rt.threads,
                          "pinned": rt.pin} for rt in runtimes],
            "versions": versions,
            "peer_notes": peer_notes,
            "notes": notes,
            "generator": {k: manifest.get(k) for k in ("generator_version", "seed", "opset")},
            **facts,
        },
        "cases": [{
            "name": c["name"], "kind": c["kind"], "mflop": c["mflop"], "input_shape": c["input_shape"],
            "output_shape": c["output_shape"], "ops": c["ops"],
            "ref_max_abs": (float(np.max(np.abs(references[c["name"]])))
                            if references.get(c["name"]) is not None else None),
            "cells": {key: cell.summary() for key, cell in cells[c["name"]].items()},
            "sepconv_profile": profiles.get(c["name"]),
        } for c in cases],
    }


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="sepconv vs ONNX Runtime, tract and rten, side by side.")
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds, 60 ms per measurement, 1 warm-up run (all cases still run)")
    ap.add_argument("--rounds", type=int, help="rounds (default 5; --quick 2)")
    ap.add_argument("--min-ms", type=float, help="timed ms per measurement at least (default 300; --quick 60)")
    ap.add_argument("--min-iters", type=int, default=5, help="timed runs per measurement at least (default 5)")
    ap.add_argument("--warmup", type=int, help="warm-up runs per measurement (default 3; --quick 1)")
    ap.add_argument("--cases", default="", metavar="REGEX", help="only cases whose name matches")
    ap.add_argument("--sepconv", default=os.path.join(REPO, "target", "release", "sepconv"))
    ap.add_argument("--peers-rs", default=os.environ.get("PEERS_RS") or os.path.join(
        HERE, "rust", "target", "release", "peers-rs"), help="the peers-rs binary (env PEERS_RS)")
    ap.add_argument("--no-peers-rs", metavar="REASON", help="do not run tract and rten; say why in the report")
    ap.add_argument("--models-dir", default=os.path.join(HERE, "out", "models"))
    ap.add_argument("--out-dir", default=os.path.join(HERE, "out"))
    ap.add_argument("--markdown", default=os.path.join(REPO, "BENCHMARKS.md"))
    ap.add_argument("--svg", default=os.path.join(HERE, "peers.svg"))
    ap.add_argument("--command", help="the command line to quote in the report")
    args = ap.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        ap.error("--rounds must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = Config(
        models_dir=args.models_dir,
        out_dir=args.out_dir,
        sepconv=args.sepconv,
        peers_rs=args.peers_rs,
        no_peers_rs=args.no_peers_rs,
        rounds=args.rounds or (2 if args.quick else 5),
        min_ms=args.min_ms if args.min_ms is not None else (60.0 if args.quick else 300.0),
        min_iters=args.min_iters,
        warmup=args.warmup if args.warmup is not None else (1 if args.quick else 3),
        quick=args.quick,
        case_pattern=args.cases,
        markdown=args.markdown,
        svg=args.svg,
        command=args.command or "python3 " + " ".join(shlex.quote(a) for a in sys.argv),
    )
    log = lambda s: print(s, flush=True)  # noqa: E731
    results = run_benchmark(cfg, log)
    path = os.path.join(cfg.out_dir, "results.json")
    write_json(path, results)
    log(f"wrote {path}")
    report.write_reports(results, args.markdown, args.svg)
    print(f"wrote {args.markdown} and {args.svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
