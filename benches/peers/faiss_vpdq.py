"""python-threatexchange's vPDQ index as the peer of benches/video.rs's matching bench, on the
very same hashes (target/bench-data/video-index.bin: 10,000 videos x 60 frames, 32 big-endian
bytes a hash; video-queries.bin: 100 near copies then 100 unrelated uploads of 60 frames).

    cargo bench --bench video && .venv/bin/python benches/peers/faiss_vpdq.py

pytx's VPDQIndex (extensions/vpdq/vpdq_index.py) puts every distinct frame hash into a FAISS
IndexBinaryFlat, range-searches each query frame at distance <= 31 and groups the hits per
video; this does the same (one thread) and prints p50/p99 ms per query and the match counts.
"""
import os
import time

import faiss
import numpy as np

FRAMES = 60
DATA = os.path.join(os.path.dirname(__file__), "..", "..", "target", "bench-data")


def main():
    faiss.omp_set_num_threads(1)
    known = np.fromfile(os.path.join(DATA, "video-index.bin"), dtype=np.uint8).reshape(-1, 32)
    queries = np.fromfile(os.path.join(DATA, "video-queries.bin"), dtype=np.uint8).reshape(-1, FRAMES, 32)
    video_of = np.arange(len(known)) // FRAMES
    t = time.perf_counter()
    index = faiss.IndexBinaryFlat(256)
    index.add(known)
    print(f"{len(known)} frames of {len(known) // FRAMES} videos indexed in {time.perf_counter() - t:.2f} s")
    for name, group in (("known_copy", queries[:100]), ("unrelated", queries[100:])):
        times, matched = [], 0
        for q in group:
            t = time.perf_counter()
            lims, _, ids = index.range_search(q, 32)
            per_video = {}
            for i in range(len(q)):
                for v in set(video_of[ids[lims[i]:lims[i + 1]]]):
                    per_video[v] = per_video.get(v, 0) + 1
            hits = [v for v, n in per_video.items() if n * 100 >= 80 * len(q)]
            times.append((time.perf_counter() - t) * 1000)
            matched += len(hits) > 0
        times.sort()
        print(f"{name}: p50 {times[len(times) // 2]:.2f} ms, p99 {times[int(len(times) * 0.99)]:.2f} ms, "
              f"{matched}/{len(group)} matched")


if __name__ == "__main__":
    main()
