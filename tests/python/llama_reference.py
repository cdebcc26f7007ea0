"""An independent Llama forward in NumPy (float64) over a GGUF's weights, dequantised by the
`gguf` package: what depthprune's model measurements are checked against.

usage: llama_reference.py MODEL.gguf WINDOWS.json angular OUT.json
       llama_reference.py MODEL.gguf WINDOWS.json kl OUT.json REMOVED

  angular: for every window (a list of token ids, BOS included), the residual stream of its
           last token entering each block and after the last one (before the final norm); the
           mean over windows of arccos(cos) / pi between every two of those n_blocks + 1
           boundaries, as a matrix [l][m] (0 on and below the diagonal).
  kl:      the mean over every scored token (each position but the last of each window) of
           KL(p || q), p the unpruned model's next-token distribution and q the model's with
           the blocks REMOVED (comma-separated) skipped, both by a full softmax in float64.

Written from the Llama architecture, not from depthprune's code: pre-norm blocks, RMSNorm,
grouped-query causal attention, SwiGLU, RoPE on adjacent lane pairs (2i, 2i+1), because GGUF
Llama q/k weights are permuted for llama.cpp's interleaved RoPE.
"""
import json
import sys

import numpy as np


def load(path):
    import gguf
    r = gguf.GGUFReader(path)
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("tokenizer."):
            continue
        try:
            meta[k] = f.contents()
        except Exception:
            pass
    if meta["general.architecture"] != "llama":
        raise SystemExit(f"{path}: architecture {meta['general.architecture']}, not llama")
    w = {}
    for t in r.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        shape = [int(d) for d in reversed(t.shape)]
        w[t.name] = np.ascontiguousarray(a, dtype=np.float64).reshape(shape)
    hidden = meta["llama.embedding_length"]
    n_heads = meta["llama.attention.head_count"]
    cfg = dict(
        n_blocks=meta["llama.block_count"], hidden=hidden, n_heads=n_heads,
        n_kv=meta.get("llama.attention.head_count_kv", n_heads),
        head_dim=meta.get("llama.rope.dimension_count", hidden // n_heads),
        eps=float(meta["llama.attention.layer_norm_rms_epsilon"]),
        theta=float(meta.get("llama.rope.freq_base", 10000.0)),
    )
    return cfg, w


def rms_norm(x, weight, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * weight


def rope(x, theta):
    # x: [heads, t, d]; pairs are adjacent lanes (2i, 2i+1).
    h, t, d = x.shape
    inv = 1.0 / theta ** (2.0 * np.arange(d // 2) / d)
    ang = np.arange(t)[:, None] * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def silu(x):
    return x / (1.0 + np.exp(-x))


def block(cfg, w, i, x):
    """One block on one sequence x [t, hidden]."""
    t = x.shape[0]
    nh, nkv, hd, eps = cfg["n_heads"], cfg["n_kv"], cfg["head_dim"], cfg["eps"]
    p = f"blk.{i}."
    h = rms_norm(x, w[p + "attn_norm.weight"], eps)
    q = (h @ w[p + "attn_q.weight"].T).reshape(t, nh, hd).transpose(1, 0, 2)
    k = (h @ w[p + "attn_k.weight"].T).reshape(t, nkv, hd).transpose(1, 0, 2)
    v = (h @ w[p + "attn_v.weight"].T).reshape(t, nkv, hd).transpose(1, 0, 2)
    q, k = rope(q, cfg["theta"]), rope(k, cfg["theta"])
    group = nh // nkv
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
    scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    y = (scores @ v).transpose(1, 0, 2).reshape(t, nh * hd)
    x = x + y @ w[p + "attn_output.weight"].T
    h = rms_norm(x, w[p + "ffn_norm.weight"], eps)
    g = silu(h @ w[p + "ffn_gate.weight"].T) * (h @ w[p + "ffn_up.weight"].T)
    return x + g @ w[p + "ffn_down.weight"].T


def angular(cfg, w, windows):
    n = cfg["n_blocks"]
    sums = np.zeros((n + 1, n + 1))
    for tokens in windows:
        x = w["token_embd.weight"][np.array(tokens)]
        states = [x[-1].copy()]
        for i in range(n):
            x = block(cfg, w, i, x)
            states.append(x[-1].copy())
        for l in range(n + 1):
            for m in range(l + 1, n + 1):
                a, b = states[l], states[m]
                c = np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1.0, 1.0)
                sums[l, m] += np.arccos(c) / np.pi
    return (sums / len(windows)).tolist()


def log_probs(cfg, w, tokens, removed):
    """log-softmax of the next-token logits at every position but the last, [t - 1, vocab]."""
    x = w["token_embd.weight"][np.array(tokens)]
    for i in range(cfg["n_blocks"]):
        if i not in removed:
            x = block(cfg, w, i, x)
    head = w.get("output.weight", w["token_embd.weight"])
    z = rms_norm(x[:-1], w["output_norm.weight"], cfg["eps"]) @ head.T
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def kl(cfg, w, windows, removed):
    total, tokens = 0.0, 0
    for t in windows:
        lp, lq = log_probs(cfg, w, t, set()), log_probs(cfg, w, t, removed)
        total += (np.exp(lp) * (lp - lq)).sum()
        tokens += lp.shape[0]
    return total / tokens


def main():
    model, windows, mode, out = sys.argv[1:5]
    cfg, w = load(model)
    windows = json.load(open(windows))
    if mode == "angular":
        json.dump({"distance": angular(cfg, w, windows)}, open(out, "w"))
    elif mode == "kl":
        removed = {int(b) for b in sys.argv[5].split(",") if b}
        json.dump({"kl": kl(cfg, w, windows, removed)}, open(out, "w"))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
