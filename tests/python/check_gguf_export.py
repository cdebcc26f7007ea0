"""Checks a GGUF written by `depthprune export` against its source with the reader of the
`gguf` package (llama.cpp's gguf-py, from PyPI), which shares no code with depthprune.

usage: check_gguf_export.py SOURCE.gguf EXPORTED.gguf REMOVED   (REMOVED: e.g. 3,7)

Expected of the export: the source's tensors without those of removed blocks, the others
renamed blk.<new index>, in the same order, with the same types, shapes and bytes, each at an
aligned offset; `<arch>.block_count` lowered; every `<arch>.*` array with one entry per block
without the removed blocks' entries; every other metadata value unchanged, in the same order.
Exits 1 with the first difference found.
"""

import sys

try:
    import gguf
except ImportError as e:
    sys.exit(f"the gguf package is missing ({e}); install it with `python3 -m pip install gguf`")


def fail(message):
    sys.exit(f"FAIL: {message}")


def metadata(reader):
    # GGUF.version, GGUF.tensor_count and GGUF.kv_count are the reader's own fields.
    return {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}


def raw(reader, field):
    """A metadata entry's bytes in the file: key, type and value."""
    size = sum(part.nbytes for part in field.parts)
    return reader.data[field.offset:field.offset + size].tobytes()


def main():
    source_path, export_path, removed_text = sys.argv[1:4]
    removed = {int(b) for b in removed_text.split(",") if b}
    src = gguf.GGUFReader(source_path)
    out = gguf.GGUFReader(export_path)
    src_meta, out_meta = metadata(src), metadata(out)

    arch = src_meta["general.architecture"].contents()
    count_key = f"{arch}.block_count"
    n_blocks = src_meta[count_key].contents()
    kept = [i for i in range(n_blocks) if i not in removed]
    new_index = {old: new for new, old in enumerate(kept)}

    if list(out_meta) != list(src_meta):
        fail(f"metadata keys differ: {sorted(set(src_meta) ^ set(out_meta))} or their order")
    per_layer = []
    for key, f in src_meta.items():
        g = out_meta[key]
        if [int(t) for t in g.types] != [int(t) for t in f.types]:
            fail(f"{key}: type {g.types} instead of {f.types}")
        per_block = key.startswith(f"{arch}.") and len(f.data) == n_blocks and len(f.types) > 1
        if key != count_key and not per_block:
            # Kept as stored: the key's whole encoding, byte for byte (fast for the tokenizer's
            # arrays of 262k entries, where decoding each entry would take seconds).
            if raw(out, g) != raw(src, f):
                fail(f"{key}: stored differently from the source")
            continue
        value = f.contents()
        if key == count_key:
            expected = len(kept)
        else:
            expected = [value[i] for i in kept]
            per_layer.append(key)
        if g.contents() != expected:
            fail(f"{key}: {str(g.contents())[:200]} instead of {str(expected)[:200]}")

    alignment = out_meta["general.alignment"].contents() if "general.alignment" in out_meta else 32
    expected_tensors = []
    for t in src.tensors:
        name = t.name
        if name.startswith("blk."):
            _, index, rest = name.split(".", 2)
            if int(index) in removed:
                continue
            name = f"blk.{new_index[int(index)]}.{rest}"
        expected_tensors.append((name, t))
    if len(out.tensors) != len(expected_tensors):
        fail(f"{len(out.tensors)} tensors instead of {len(expected_tensors)}")
    for got, (name, t) in zip(out.tensors, expected_tensors):
        if got.name != name:
            fail(f"tensor {got.name} where {name} was expected")
        if got.tensor_type != t.tensor_type or list(got.shape) != list(t.shape):
            fail(f"{name}: {got.tensor_type.name} {list(got.shape)} instead of "
                 f"{t.tensor_type.name} {list(t.shape)}")
        if got.data_offset % alignment != 0:
            fail(f"{name}: data at {got.data_offset}, not a multiple of {alignment}")
        if got.data.tobytes() != t.data.tobytes():
            fail(f"{name}: bytes differ from the source's {t.name}")

    print(f"ok: {arch}, {n_blocks} -> {len(kept)} blocks, {len(out.tensors)} tensors "
          f"(bytes equal), {len(out_meta)} metadata keys, per-layer arrays {per_layer}")


if __name__ == "__main__":
    main()
