"""Times the Python peer in the same run as the criterion benches: pip `pdqhash` (Meta's C++
core behind Cython, what HMA runs) on the same synthetic pixels as benches/pdq.rs, Pillow +
pdqhash from JPEG bytes end to end, and corpus throughput on N processes.

    .venv/bin/python benches/peers/pip_pdqhash.py [--corpus ../shared/corpus/dev/originals] [--procs 2]

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


def photo_like(w, h):
    """Deterministic photo-like RGB content (smooth fields, edges, texture)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 60 * np.sin(x / 37.0) * np.cos(y / 53.0) + 40 * ((x // 97 + y // 71) % 2)
    g = 128 + 50 * np.cos((x + y) / 41.0) + 0.02 * x
    b = 100 + 70 * np.sin(np.hypot(x - w / 2, y - h / 3) / 29.0)
    noise = ((x * 7919 + y * 104729) % 23) - 11
    rgb = np.stack([r + noise, g - noise, b + noise / 2], axis=2)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def median_ms(f, reps=5):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def hash_file(path):
    return pdqhash.compute(np.asarray(Image.open(path).convert("RGB")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="../shared/corpus/dev/originals")
    ap.add_argument("--procs", type=int, default=2)
    args = ap.parse_args()

    print("pip pdqhash from RGB pixels (ms/image, 1 thread)")
    for w, h in SIZES:
        px = photo_like(w, h)
        print(f"  {w}x{h}: {median_ms(lambda: pdqhash.compute(px)):.2f}")

    print("Pillow decode + pip pdqhash from JPEG bytes (ms/image, 1 thread)")
    for w, h in [(1280, 720), (4000, 3000)]:
        buf = io.BytesIO()
        Image.fromarray(photo_like(w, h)).save(buf, format="JPEG", quality=90)
        data = buf.getvalue()
        f = lambda: pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        print(f"  {w}x{h}: {median_ms(f):.2f}")

    if os.path.isdir(args.corpus):
        files = sorted(os.path.join(args.corpus, f) for f in os.listdir(args.corpus))
        t = time.perf_counter()
        with multiprocessing.Pool(args.procs) as pool:
            pool.map(hash_file, files, chunksize=8)
        dt = time.perf_counter() - t
        print(f"corpus throughput, {args.procs} processes: {len(files) / dt:.0f} images/s ({len(files)} files)")


if __name__ == "__main__":
    main()
