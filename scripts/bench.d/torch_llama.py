"""A short Llama forward in PyTorch on a GGUF's weights, dequantised to f32 (the `gguf` package).

usage: torch_llama.py MODEL.gguf WINDOWS.json forward|scan --dtype f32|bf16 --threads N --out OUT.json

  forward: one warm-up batch, then perplexity of every window, timed (load excluded).
  scan:    the naive one-shot scan: perplexity with nothing and with each block removed alone,
           a full forward each time (no prefix sharing), timed.

Like depthprune (src/model/llama.rs, layers.rs): pre-norm blocks, RMSNorm, grouped-query
attention, SwiGLU, RoPE on adjacent lane pairs (2i, 2i+1), because GGUF Llama q/k weights are
permuted for llama.cpp's interleaved RoPE (no un-permuting needed); output head tied to the
embeddings when there is no output.weight. A removed block is the identity. Windows run in
batches of 4 (depthprune's DEFAULT_BATCH); every next-token prediction is scored and the NLL
summed in f64. bf16: the forward under torch.autocast("cpu", dtype=torch.bfloat16) (oneDNN,
AMX where the CPU has it); log-softmax in f32.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

BATCH = 4


def load(path):
    import gguf
    r = gguf.GGUFReader(path)
    meta = {k: f.contents() for k, f in r.fields.items()
            if not k.startswith("tokenizer.ggml.") or k.endswith("_id") or k.endswith("add_bos_token")}
    if meta["general.architecture"] != "llama":
        raise SystemExit(f"{path}: architecture {meta['general.architecture']}, not llama")
    w = {}
    for t in r.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        shape = [int(d) for d in reversed(t.shape)]
        w[t.name] = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32).reshape(shape))
    hidden = meta["llama.embedding_length"]
    n_heads = meta["llama.attention.head_count"]
    cfg = dict(
        n_blocks=meta["llama.block_count"], hidden=hidden, n_heads=n_heads,
        n_kv=meta.get("llama.attention.head_count_kv", n_heads),
        head_dim=meta.get("llama.rope.dimension_count", hidden // n_heads),
        eps=float(meta["llama.attention.layer_norm_rms_epsilon"]),
        theta=float(meta.get("llama.rope.freq_base", 10000.0)),
    )
    if "output.weight" not in w:
        w["output.weight"] = w["token_embd.weight"]
    return cfg, w


def rms_norm(x, weight, eps):
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps) * weight).to(x.dtype)


def rope_tables(cfg, seq):
    hd = cfg["head_dim"]
    inv = torch.tensor([1.0 / cfg["theta"] ** (2.0 * i / hd) for i in range(hd // 2)],
                       dtype=torch.float64).float()
    ang = torch.arange(seq, dtype=torch.float32)[:, None] * inv[None, :]
    return ang.cos(), ang.sin()


def rope_interleaved(x, cos, sin):
    # x: [b, heads, t, d]; pairs are adjacent lanes (2i, 2i+1).
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)
    return out.flatten(-2)


def forward_nll(cfg, w, tokens, removed, tables):
    """NLL sum (f64) of every next-token prediction of `tokens` [b, t]."""
    b, t = tokens.shape
    nh, nkv, hd, eps = cfg["n_heads"], cfg["n_kv"], cfg["head_dim"], cfg["eps"]
    cos, sin = tables
    x = w["token_embd.weight"][tokens]
    for i in range(cfg["n_blocks"]):
        if i in removed:
            continue
        p = f"blk.{i}."
        h = rms_norm(x, w[p + "attn_norm.weight"], eps)
        q = F.linear(h, w[p + "attn_q.weight"]).view(b, t, nh, hd).transpose(1, 2)
        k = F.linear(h, w[p + "attn_k.weight"]).view(b, t, nkv, hd).transpose(1, 2)
        v = F.linear(h, w[p + "attn_v.weight"]).view(b, t, nkv, hd).transpose(1, 2)
        q, k = rope_interleaved(q, cos, sin), rope_interleaved(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k.to(q.dtype), v.to(q.dtype), is_causal=True,
                                           enable_gqa=True)
        x = x + F.linear(y.transpose(1, 2).reshape(b, t, nh * hd), w[p + "attn_output.weight"])
        h = rms_norm(x, w[p + "ffn_norm.weight"], eps)
        g = F.silu(F.linear(h, w[p + "ffn_gate.weight"])) * F.linear(h, w[p + "ffn_up.weight"])
        x = x + F.linear(g, w[p + "ffn_down.weight"])
    h = rms_norm(x[:, :-1], w["output_norm.weight"], eps).reshape(b * (t - 1), -1)
    logits = F.linear(h, w["output.weight"]).float()  # rows as one 2-D matmul
    lp = torch.log_softmax(logits, dim=-1).gather(-1, tokens[:, 1:].reshape(-1, 1))
    return -lp.double().sum().item()


def perplexity(cfg, w, windows, removed, dtype):
    tables = rope_tables(cfg, len(windows[0]))
    nll = 0.0
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                 enabled=dtype == "bf16"):
        for s in range(0, len(windows), BATCH):
            nll += forward_nll(cfg, w, torch.tensor(windows[s:s + BATCH]), removed, tables)
    scored = sum(len(x) - 1 for x in windows)
    return nll, float(np.exp(nll / scored))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("windows")
    ap.add_argument("mode", choices=["forward", "scan"])
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    cfg, w = load(a.model)
    windows = json.load(open(a.windows))["windows"]
    out = {"engine": f"torch-{a.dtype}", "torch": torch.__version__, "threads": a.threads,
           "load_seconds": time.perf_counter() - t0,
           "tokens_per_forward": sum(len(x) for x in windows)}
    if a.mode == "forward":
        perplexity(cfg, w, windows[:BATCH], set(), a.dtype)  # warm-up (kernel selection)
        t = time.perf_counter()
        nll, ppl = perplexity(cfg, w, windows, set(), a.dtype)
        out.update(seconds=time.perf_counter() - t, nll_sum=nll, ppl=ppl)
    else:
        t = time.perf_counter()
        nll, ppl = perplexity(cfg, w, windows, set(), a.dtype)
        rows = []
        for blk in range(cfg["n_blocks"]):
            bn, bp = perplexity(cfg, w, windows, {blk}, a.dtype)
            rows.append({"block": blk, "nll_sum": bn, "ppl": bp})
        out.update(seconds=time.perf_counter() - t, nll_sum=nll, ppl=ppl, blocks=rows,
                   forwards=1 + cfg["n_blocks"])
    json.dump(out, open(a.out, "w"))


if __name__ == "__main__":
    main()
