#!/usr/bin/env bash
# Makes the 360p input of benches/video.rs: ../shared's pattern-hd-no-bar.mp4 (1280x720, 206
# frames) scaled to 640x360 and re-encoded with x264 (preset medium, B-frames, yuv420p), the
# kind of file an upload service receives. Needs the ffmpeg CLI (Debian: apt-get install ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=../shared/vectors/vpdq/sample-videos/pattern-hd-no-bar.mp4
out=target/bench-data/video-360p.mp4
mkdir -p target/bench-data
ffmpeg -v error -y -i "$src" -vf scale=640:360 -c:v libx264 -preset medium -crf 23 -bf 3 \
  -pix_fmt yuv420p -an "$out"
echo "wrote $out"
