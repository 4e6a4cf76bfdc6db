"""FAISS as the index peer, on the very hashes and queries benches/index.rs used (it leaves
them in target/bench-data/index-<case>.bin, 32 big-endian bytes per hash, the bytes
python-threatexchange feeds FAISS).

    cargo bench --bench index && .venv/bin/python benches/peers/faiss_index.py [--data target/bench-data]

Indexes: IndexBinaryFlat (brute force) and IndexBinaryMultiHash(256, 16, 16) with nflip=1, as
HMA builds it (python-threatexchange pdq_faiss_matcher.py); range_search(q, 32) = distance <= 31.
One thread (faiss.omp_set_num_threads(1)). Prints build seconds, bytes per entry (serialised
index size), p50/p99 µs per single query, and checks both return the same hit counts.
"""
import argparse
import glob
import os
import time

import faiss
import numpy as np


def latencies(index, queries):
    for q in queries:
        index.range_search(q[None, :], 32)
    times = []
    counts = []
    for q in queries:
        t = time.perf_counter()
        _, d, _ = index.range_search(q[None, :], 32)
        times.append((time.perf_counter() - t) * 1e6)
        counts.append(len(d))
    times.sort()
    pick = lambda p: times[min(len(times), max(1, int(np.ceil(len(times) * p)))) - 1]
    return pick(0.5), pick(0.99), counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="target/bench-data")
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)
    print(f"{'data':<18} {'index':<28} {'build s':>8} {'B/entry':>8} {'p50 µs':>10} {'p99 µs':>10}")
    for path in sorted(glob.glob(os.path.join(args.data, "index-*.bin"))):
        if path.endswith("-queries.bin"):
            continue
        case = os.path.basename(path)[len("index-"):-len(".bin")]
        data = np.fromfile(path, dtype=np.uint8).reshape(-1, 32)
        queries = np.fromfile(path[:-4] + "-queries.bin", dtype=np.uint8).reshape(-1, 32)
        results = {}
        for name, make in [
            ("IndexBinaryFlat", lambda: faiss.IndexBinaryFlat(256)),
            ("IndexBinaryMultiHash16x16", lambda: faiss.IndexBinaryMultiHash(256, 16, 16)),
        ]:
            t = time.perf_counter()
            index = make()
            if name.startswith("IndexBinaryMultiHash"):
                index.nflip = 1
            index.add(data)
            build = time.perf_counter() - t
            size = len(faiss.serialize_index_binary(index))
            p50, p99, counts = latencies(index, queries)
            results[name] = counts
            print(f"{case:<18} {name:<28} {build:8.2f} {size / len(data):8.1f} {p50:10.1f} {p99:10.1f}")
        assert results["IndexBinaryFlat"] == results["IndexBinaryMultiHash16x16"], "FAISS indexes disagree"


if __name__ == "__main__":
    main()
