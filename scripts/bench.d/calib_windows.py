"""The windows `depthprune scan/search --objective ppl` draws, recomputed outside depthprune.

usage: calib_windows.py DEPTHPRUNE_BIN MODEL DATA_DIR N_SEQS SEQ_LEN BOS OUT.json

The perplexity objective (src/objective/perplexity.rs, src/data/split.rs) shuffles
WikiText-2's 60 test articles with ChaCha8 seeded by sha256(partition seed, "partition/wikitext2"),
keeps the first half (calibration), cuts each article's token ids into consecutive windows
(the fixture rule) and draws N_SEQS of them with sha256(seed 0, "sample/wikitext2"). This file
re-implements rand 0.9's shuffle (IncreasingUniform, biased Canon sampling, no `unbiased`
feature) over rand_chacha 0.9's ChaCha8Rng::seed_from_u64, and tokenises each article with
`depthprune tokenize` so the ids are depthprune's own. Nothing here is trusted on its own: the
bench checks that PyTorch's perplexity on these windows equals depthprune's scan score.
BOS: the id to put first in each window, or "none".
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

M32 = 0xFFFFFFFF
PARTITION_SEED = 20_240_601  # data::split::DEFAULT_PARTITION_SEED


def derive_seed(seed, label):
    h = hashlib.sha256(struct.pack("<Q", seed) + label.encode()).digest()
    return struct.unpack("<Q", h[:8])[0]


def rotl(v, n):
    return ((v << n) & M32) | (v >> (32 - n))


def chacha_block(key, counter, rounds=8):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574] + key + [
        counter & M32, counter >> 32, 0, 0]
    x = s[:]

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & M32; x[d] = rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & M32; x[b] = rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & M32; x[d] = rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & M32; x[b] = rotl(x[b] ^ x[c], 7)

    for _ in range(rounds // 2):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return [(x[i] + s[i]) & M32 for i in range(16)]


class ChaCha8:
    """rand_chacha 0.9 ChaCha8Rng: 64-bit block counter from 0, stream 0, 4 blocks a refill."""

    def __init__(self, seed_u64):
        state = seed_u64
        key = []
        for _ in range(8):  # rand_core 0.9 seed_from_u64: PCG32 words, little-endian
            state = (state * 6364136223846793005 + 11634580027462260723) & 0xFFFFFFFFFFFFFFFF
            xorshifted = (((state >> 18) ^ state) >> 27) & M32
            rot = state >> 59
            key.append(((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & M32)
        self.key, self.counter, self.buf, self.index = key, 0, [], 0

    def next_u32(self):
        if self.index >= len(self.buf):
            self.buf = []
            for _ in range(4):
                self.buf += chacha_block(self.key, self.counter)
                self.counter += 1
            self.index = 0
        v = self.buf[self.index]
        self.index += 1
        return v


def below(rng, bound):
    """rand 0.9 `random_range(..bound)` for u32 (biased Canon's method)."""
    prod = rng.next_u32() * bound
    result, lo = prod >> 32, prod & M32
    if lo > ((-bound) & M32):
        new_hi = (rng.next_u32() * bound) >> 32
        if lo + new_hi > M32:
            result += 1
    return result


def shuffle(items, rng):
    """rand 0.9 SliceRandom::shuffle (partial_shuffle with IncreasingUniform from n = 0)."""
    if len(items) <= 1:
        return
    n, chunk, remaining = 0, 0, 1
    for i in range(len(items)):
        next_n = n + 1
        if remaining == 0:
            product, current = next_n, next_n + 1
            while product * current <= M32:
                product *= current
                current += 1
            chunk = below(rng, product)
            remaining = current - next_n
        remaining -= 1
        if remaining == 0:
            index = chunk
        else:
            index = chunk % next_n
            chunk //= next_n
        n = next_n
        items[i], items[index] = items[index], items[i]


def rng_for(seed, label):
    return ChaCha8(derive_seed(seed, label))


def main():
    binary, model, data_dir, n_seqs, seq_len, bos, out = sys.argv[1:8]
    n_seqs, seq_len = int(n_seqs), int(seq_len)
    bos = None if bos == "none" else int(bos)
    docs, order = {}, []
    with open(os.path.join(data_dir, "wikitext2/wikitext-2-raw-v1.test.articles.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r["id"] in docs:
                docs[r["id"]] += "\n" + r["text"]
            else:
                docs[r["id"]] = r["text"]
                order.append(r["id"])
    articles = [(i, docs[i]) for i in order if docs[i].strip()]
    label = "wikitext2"
    pool = list(range(len(articles)))
    shuffle(pool, rng_for(PARTITION_SEED, f"partition/{label}"))
    pool = pool[: len(articles) // 2]
    per_window = seq_len - 1 if bos is not None else seq_len
    candidates = []
    with tempfile.TemporaryDirectory() as tmp:
        for a in pool:
            path = os.path.join(tmp, "article.txt")
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(articles[a][1])
            ids = json.loads(subprocess.run(
                [binary, "--quiet", "tokenize", "--model", model, "--text", path],
                check=True, capture_output=True, text=True).stdout)
            for s in range(0, len(ids) - per_window + 1, per_window):
                w = ids[s:s + per_window]
                candidates.append(([bos] if bos is not None else []) + w)
    drawn = list(range(len(candidates)))
    shuffle(drawn, rng_for(0, f"sample/{label}"))
    windows = [candidates[c] for c in drawn[:n_seqs]]
    with open(out, "w") as f:
        json.dump({"windows": windows, "candidates": len(candidates),
                   "articles": [articles[a][0] for a in pool]}, f)


if __name__ == "__main__":
    main()
