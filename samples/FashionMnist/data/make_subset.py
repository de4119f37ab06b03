#!/usr/bin/env python3
"""Makes the embedded Fashion-MNIST subset from Debian's dataset-fashion-mnist package.

    apt-get install dataset-fashion-mnist
    python3 samples/FashionMnist/data/make_subset.py

Keeps the first 4,000 training and the first 1,000 test images with their labels (the data set's own order is already
shuffled), as IDX files compressed with gzip, next to this script. Fashion-MNIST is MIT-licensed: see NOTICE.
"""
import gzip
import os
import struct

SOURCE = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
KEEP = {"train": 4000, "t10k": 1000}


def subset(name, count):
    with gzip.open(os.path.join(SOURCE, name), "rb") as f:
        data = f.read()
    rank = data[3]
    dims = list(struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank]))
    row = 1
    for d in dims[1:]:
        row *= d
    dims[0] = count
    header = data[:4] + struct.pack(">" + "I" * rank, *dims)
    body = data[4 + 4 * rank:4 + 4 * rank + count * row]
    # mtime=0 keeps the output identical from run to run.
    with open(os.path.join(HERE, name), "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(header + body)


for prefix, count in KEEP.items():
    subset(f"{prefix}-images-idx3-ubyte.gz", count)
    subset(f"{prefix}-labels-idx1-ubyte.gz", count)
print("wrote", sorted(f for f in os.listdir(HERE) if f.endswith(".gz")))
