"""Times the Python peer in the same session as the criterion benches: pip `pdqhash` (Meta's
C++ core behind Cython, what HMA runs) on the very pixels benches/pdq.rs hashed, Pillow + pip
`pdqhash` on the very JPEG bytes benches/pipeline.rs hashed (both leave them in
target/bench-data), and corpus throughput on N processes.

    cargo bench --bench pdq && cargo bench --features turbojpeg --bench pipeline
    .venv/bin/python benches/peers/pip_pdqhash.py [--data target/bench-data]
        [--corpus ../shared/corpus/dev/originals] [--procs 2]

Prints median milliseconds per image (5 repetitions after a warm-up), one thread.
"""
import argparse
import io
import multiprocessing
import os
import statistics
import time

import numpy as np
import pdqhash
from PIL import Image

SIZES = [(640, 480), (1280, 720), (1920, 1080), (4000, 3000)]


def median_ms(f, reps=5):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def hex_of(bits):
    return "%064x" % int("".join(str(int(b)) for b in bits), 2)


def hash_file(path):
    return pdqhash.compute(np.asarray(Image.open(path).convert("RGB")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="target/bench-data")
    ap.add_argument("--corpus", default="../shared/corpus/dev/originals")
    ap.add_argument("--procs", type=int, default=2)
    args = ap.parse_args()

    print("pip pdqhash from RGB pixels (ms/image, 1 thread)")
    for w, h in SIZES:
        path = os.path.join(args.data, f"photo-{w}x{h}.rgb")
        if not os.path.exists(path):
            print(f"  {w}x{h}: {path} missing (run cargo bench --bench pdq first)")
            continue
        px = np.fromfile(path, dtype=np.uint8).reshape(h, w, 3)
        print(f"  {w}x{h}: {median_ms(lambda: pdqhash.compute(px)):.2f}")

    print("Pillow decode + pip pdqhash from JPEG bytes (ms/image, 1 thread)")
    for w, h in [(1280, 720), (4000, 3000)]:
        path = os.path.join(args.data, f"photo-{w}x{h}.jpg")
        if not os.path.exists(path):
            print(f"  {w}x{h}: {path} missing (run cargo bench --bench pipeline first)")
            continue
        data = open(path, "rb").read()
        f = lambda: pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        bits, q = f()
        print(f"  {w}x{h}: {median_ms(f):.2f}  (hash {hex_of(bits)} q{q})")

    if os.path.isdir(args.corpus):
        files = sorted(os.path.join(args.corpus, f) for f in os.listdir(args.corpus))
        t = time.perf_counter()
        with multiprocessing.Pool(args.procs) as pool:
            pool.map(hash_file, files, chunksize=8)
        dt = time.perf_counter() - t
        print(f"corpus throughput, {args.procs} processes: {len(files) / dt:.0f} images/s ({len(files)} files)")


if __name__ == "__main__":
    main()
