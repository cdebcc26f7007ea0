"""Perplexity of windows with llama.cpp (llama-cpp-python's low-level API) on a GGUF as it is.

usage: llamacpp_ppl.py MODEL.gguf WINDOWS.json --threads N --out OUT.json

The windows run 4 at a time (depthprune's batch), as 4 sequences of one llama_batch with a
logit requested at every position (what the high-level API's logits_all=True does), the KV
memory cleared between batches; each position's log-softmax at the next token is taken in
float64 here and the NLL summed in f64, so every next-token prediction is scored exactly as in
depthprune and the fixture. One warm-up batch first; `seconds` covers decode and scoring of
every window (load excluded), `decode_seconds` the llama_decode calls alone. llama.cpp
multiplies the quantised weights (Q4_1) by 8-bit-quantised activations, so its perplexity sits
a few tenths of a percent from an f32 forward's.
"""
import argparse
import ctypes
import json
import time

import numpy as np
import llama_cpp as L

BATCH = 4


@L.llama_log_callback
def _quiet(level, text, user_data):
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("windows")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--extra-bufts", action="store_true",
                    help="let llama.cpp repack weights (its AMX path for Q4_1)")
    a = ap.parse_args()
    windows = json.load(open(a.windows))["windows"]
    seq = len(windows[0])
    t0 = time.perf_counter()
    L.llama_log_set(_quiet, ctypes.c_void_p())
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    # No extra buffer types (weight repacking): for Q4_1 on a CPU with AMX that is llama.cpp's
    # AMX path, which dies here with SIGILL at its first tileloadd (0.3.36, in this VM, where
    # oneDNN's AMX kernels run); without it, llama.cpp's AVX-512 kernels.
    mp.use_extra_bufts = a.extra_bufts
    model = L.llama_model_load_from_file(a.model.encode(), mp)
    if not model:
        raise SystemExit(f"llama.cpp could not load {a.model}")
    cp = L.llama_context_default_params()
    cp.n_ctx = cp.n_batch = cp.n_ubatch = BATCH * seq
    cp.n_seq_max = BATCH
    cp.n_threads = cp.n_threads_batch = a.threads
    ctx = L.llama_init_from_model(model, cp)
    if not ctx:
        raise SystemExit("llama.cpp could not create a context")
    n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    mem = L.llama_get_memory(ctx)
    batch = L.llama_batch_init(BATCH * seq, 0, BATCH)
    load_seconds = time.perf_counter() - t0

    def run(chunk):
        """NLL sum of a chunk of windows and the seconds llama_decode took."""
        L.llama_memory_clear(mem, True)
        n = 0
        for s, w in enumerate(chunk):
            for p, tok in enumerate(w):
                batch.token[n] = tok
                batch.pos[n] = p
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = s
                batch.logits[n] = 1
                n += 1
        batch.n_tokens = n
        t = time.perf_counter()
        if L.llama_decode(ctx, batch) != 0:
            raise SystemExit("llama_decode failed")
        decode = time.perf_counter() - t
        logits = np.ctypeslib.as_array(L.llama_get_logits(ctx), shape=(n, n_vocab))
        nll = 0.0
        for s, w in enumerate(chunk):
            rows = logits[s * seq:(s + 1) * seq - 1].astype(np.float64)
            top = rows.max(axis=1)
            lse = top + np.log(np.exp(rows - top[:, None]).sum(axis=1))
            nll += float((lse - rows[np.arange(seq - 1), w[1:]]).sum())
        return nll, decode

    run(windows[:BATCH])  # warm-up
    t = time.perf_counter()
    nll, decode = 0.0, 0.0
    for s in range(0, len(windows), BATCH):
        x, d = run(windows[s:s + BATCH])
        nll += x
        decode += d
    seconds = time.perf_counter() - t
    scored = sum(len(w) - 1 for w in windows)
    json.dump({"engine": "llama.cpp", "llama_cpp": L.__version__, "threads": a.threads,
               "load_seconds": load_seconds, "seconds": seconds, "decode_seconds": decode,
               "tokens_per_forward": sum(len(w) for w in windows), "nll_sum": nll,
               "ppl": float(np.exp(nll / scored))}, open(a.out, "w"))
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    L.llama_model_free(model)


if __name__ == "__main__":
    main()
