"""The table of scripts/bench from its runs (one JSON object a line), printed and written as
markdown.

usage: report.py RUNS.jsonl --out FILE.md --pairs N --threads N --this REV --previous REV
                 --model GGUF --seconds S --omp POLICY --load TEXT
"""
import argparse
import datetime
import json
import math
import os
import platform
from statistics import median

ORDER = ["this", "previous", "torch-f32", "torch-bf16", "llama.cpp"]
CASES = {
    "a": "a. forward, 8 x 128 tokens (load excluded)",
    "b": "b. one-shot scan, 31 evaluations of 8 x 128 (end to end)",
    "c": "c. greedy k = 3, ppl 16 x 128 (end to end)",
    "d": "d. greedy k = 3, accuracy 40 ARC-Easy questions (end to end)",
}


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def measure(r):
    """(seconds, tokens, score text, nll_sum, per-block scores or None, extra) of one run."""
    res, case = r["result"], r["case"]
    if case == "a":
        if r["engine"] in ("this", "previous"):
            secs = (r["wall40"] - r["wall8"]) / 4
            tokens = res["windows"] * (res["tokens_scored"] // res["windows"] + 1)
        else:
            secs = res["seconds"]
            tokens = res["tokens_per_forward"]
        return secs, tokens, res["ppl"], res["nll_sum"], None, {}
    if case == "b":
        if r["engine"] in ("this", "previous"):
            scores = [res["full"]["value"]] + [b["value"] for b in res["blocks"]]
            return (r["wall"], res["stats"]["tokens"], res["full"]["value"],
                    res["full"]["metrics"]["nll_sum"], scores, {})
        scores = [res["ppl"]] + [b["ppl"] for b in res["blocks"]]
        return (r["wall"], res["forwards"] * res["tokens_per_forward"], res["ppl"],
                res["nll_sum"], scores, {})
    st, out = res["stats"], res["result"]
    return (r["wall"], st["tokens"], out["score"], None, None,
            {"removed": out["removed"], "evaluations": out["evaluations"],
             "computed": st["computed"], "screened": st.get("screened", 0),
             "abandoned": st.get("abandoned", 0)})


def fmt(x, digits=3):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.1f}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    for k in ("out", "this", "previous", "model", "omp", "load"):
        ap.add_argument(f"--{k}", required=True)
    for k in ("pairs", "threads", "seconds"):
        ap.add_argument(f"--{k}", type=int, required=True)
    a = ap.parse_args()
    runs = [json.loads(line) for line in open(a.runs) if line.strip()]
    for r in runs:
        r["m"] = measure(r)

    def group(case, variant, engine):
        return [r for r in runs if (r["case"], r["variant"], r["engine"]) == (case, variant, engine)]

    def base(case, variant, pair):
        for r in runs:
            if (r["case"], r["variant"], r["engine"], r["pair"]) == (case, variant, "this", pair):
                return r
        return None

    lines = ["| case | engine | wall s | tokens/s | peak RSS MB | wall / this | score |",
             "|---|---|---|---|---|---|---|"]
    agree = []
    sieve_gain = {}
    for case in "abcd":
        variants = sorted({r["variant"] for r in runs if r["case"] == case},
                          key=lambda v: (v != "sieve", v))
        for variant in variants:
            for engine in ORDER:
                g = group(case, variant, engine)
                if not g:
                    continue
                secs = median(r["m"][0] for r in g)
                tps = median(r["m"][1] / r["m"][0] for r in g)
                rss = median(r["rss_kb"] for r in g) / 1024
                ratios = []
                for r in g:
                    b = base(case, variant, r["pair"])
                    if b is not None:
                        ratios.append(r["m"][0] / b["m"][0])
                ratio = median(ratios) if ratios else float("nan")
                last = g[-1]["m"]
                label = CASES[case].split(",")[0] + (f", {variant}" if variant else "")
                if case == "a":
                    score = f"{last[2]:.4f}"
                elif case == "b":
                    b = base(case, variant, g[-1]["pair"])
                    diff = max(abs(x / y - 1) for x, y in zip(last[4], b["m"][4])) if b else 0
                    score = f"full {last[2]:.4f}; 31 scores within {diff:.1e} of this"
                else:
                    x = last[5]
                    score = (f"{last[2]:.4f}, removed {' '.join(map(str, x['removed']))}; "
                             f"{x['computed']} computed, {x['screened']} screened")
                lines.append(f"| {label} | {engine} | {fmt(secs)} | {tps:,.0f} | {rss:,.0f} | "
                             f"{fmt(ratio, 3)}x | {score} |")
                if case == "c":
                    sieve_gain.setdefault(engine, {})[variant] = g
                # agreement with this build's numbers on the same windows
                b = base(case, variant, g[-1]["pair"])
                if engine != "this" and b is not None and case in "ab":
                    nll, ref = last[3], b["m"][3]
                    agree.append(f"- {label}, {engine}: NLL sum {nll:.6f} vs this {ref:.6f} "
                                 f"(relative {abs(nll / ref - 1):.1e}); ppl {last[2]:.4f} vs "
                                 f"{b['m'][2]:.4f}")
                if engine != "this" and b is not None and case in "cd":
                    same = last[5]["removed"] == b["m"][5]["removed"]
                    agree.append(f"- {label}, {engine}: removed {last[5]['removed']} "
                                 f"({'same set' if same else 'DIFFERENT set'}), score "
                                 f"{last[2]:.10g} vs {b['m'][2]:.10g} "
                                 f"(relative {abs(last[2] / b['m'][2] - 1):.1e})")
    for engine, v in sieve_gain.items():
        if "sieve" in v and "no-sieve" in v:
            per_pair = []
            for r in v["no-sieve"]:
                s = [x for x in v["sieve"] if x["pair"] == r["pair"]]
                if s:
                    per_pair.append(r["m"][0] / s[0]["m"][0])
            tok = median(r["m"][1] for r in v["no-sieve"]) / median(r["m"][1] for r in v["sieve"])
            agree.append(f"- sieve, {engine}: wall without / with = {median(per_pair):.2f}x, "
                         f"tokens without / with = {tok:.2f}x")

    versions = []
    for r in runs:
        res = r["result"]
        if "torch" in res and f"torch {res['torch']}" not in versions:
            versions.append(f"torch {res['torch']}")
        if "llama_cpp" in res and f"llama-cpp-python {res['llama_cpp']}" not in versions:
            versions.append(f"llama-cpp-python {res['llama_cpp']}")
    header = [
        f"# depthprune bench ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)",
        "",
        f"`scripts/bench --pairs {a.pairs}`: {cpu_model()}, {os.cpu_count()} cores, "
        f"{a.threads} threads per engine; medians over {a.pairs} pair(s) of alternating runs; "
        f"this = {a.this}, previous = {a.previous}; model {os.path.basename(a.model)}"
        + (f"; {', '.join(versions)}" if versions else "")
        + f"; OMP_WAIT_POLICY={a.omp}; load average (1, 5, 15 min) {a.load}; "
        f"the whole run took {a.seconds // 60} min {a.seconds % 60} s.",
        "",
        "wall / this: this row's seconds over this build's in the same pair (median over pairs; "
        "> 1 is slower). Case a's seconds are the forward alone; b and c are whole processes, "
        "load included. tokens/s: tokens run through the model per second.",
        "",
    ]
    text = "\n".join(header + lines + ["", "Agreement with this build on the same windows:", ""]
                     + agree) + "\n"
    print("\n".join(lines + ["", "Agreement with this build on the same windows:"] + agree))
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
