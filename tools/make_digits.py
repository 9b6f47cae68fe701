#!/usr/bin/env python3
"""Writes data/digits/: the first digits of the official MNIST test set
(data/mnist-sample/t10k-*.gz) as 28x28 grey PNGs, light ink on dark as MNIST's are, each named
by its label, for the README's quick start (`zoo predict --pretrained mnist-cnn data/digits/7.png`).

    python3 tools/make_digits.py            # standard library only
"""
import gzip
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "mnist-sample"
OUT = ROOT / "data" / "digits"
COUNT = 3


def png(width, height, rows):
    """An 8-bit greyscale PNG of `rows` (each `width` bytes)."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    images = gzip.open(SAMPLE / "t10k-images-idx3-ubyte.gz").read()
    labels = gzip.open(SAMPLE / "t10k-labels-idx1-ubyte.gz").read()
    magic, count, height, width = struct.unpack(">IIII", images[:16])
    assert magic == 2051 and struct.unpack(">II", labels[:8])[0] == 2049
    OUT.mkdir(exist_ok=True)
    size = height * width
    for i in range(COUNT):
        pixels = images[16 + i * size:16 + (i + 1) * size]
        rows = [pixels[r * width:(r + 1) * width] for r in range(height)]
        path = OUT / f"{labels[8 + i]}.png"
        path.write_bytes(png(width, height, rows))
        print(f"{path.relative_to(ROOT)}: test image {i}, label {labels[8 + i]}")


if __name__ == "__main__":
    main()
