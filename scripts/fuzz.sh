#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS each (default 60), one after the other,
# and prints per target the executions, the time and whether it crashed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Seeds: the repository's own fixtures (examples/), files the CLI makes on the spot (a snapshot,
# a report), and ../shared/vectors when it is there (read in place: linked, never copied into the
# repository). Corpora grow in fuzz/corpus/<target> (untracked); a crash leaves its input in
# fuzz/artifacts/<target> and fails the script. Needs cargo-fuzz (installed if missing); on a
# stable toolchain RUSTC_BOOTSTRAP=1 lets it pass the -Z flags the sanitizer build needs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image_hash list_parse snapshot_open hex_parse vpdq_parse video_container report_json)
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

shared=../shared/vectors
seed_dir() { # target: the corpus folder, seeded
  local t=$1 dir=fuzz/corpus/$1
  mkdir -p "$dir"
  link() { for f in "$@"; do [ -f "$f" ] && ln -sf "$(realpath "$f")" "$dir/seed-$(basename "$f")"; done; return 0; }
  case $t in
    image_hash)
      link examples/uploads/*.jpg
      [ -d "$shared" ] && link "$shared"/pdq/core/*.png "$shared"/pdq/bridge-mods/*.jpg \
        "$shared"/pdq/misc-images/* "$shared"/pdq/pytx-resources/* "$shared"/pdq/reg-test-input/*.png ;;
    list_parse) link examples/demo-list.csv
      printf 'a688d466ebb51b9d7cc0c227d92bc3dd3e142cd29da6e538524d5a435b5295a5\n' >"$dir/seed-hex.txt"
      printf 'hash,entry_id,label\na688d466ebb51b9d7cc0c227d92bc3dd3e142cd29da6e538524d5a435b5295a5,7,"case, 7"\n' >"$dir/seed-quoted.csv"
      [ -d "$shared" ] && link "$shared"/pdq/expected/*.csv ;;
    hex_parse) printf 'a688d466ebb51b9d7cc0c227d92bc3dd3e142cd29da6e538524d5a435b5295a5' >"$dir/seed-hash" ;;
    vpdq_parse) [ -d "$shared" ] && link "$shared"/vpdq/sample-hashes/*.txt ;;
    video_container) [ -d "$shared" ] && link "$shared"/vpdq/sample-videos/*.mp4 ;;
    snapshot_open|report_json)
      local tmp; tmp=$(mktemp -d)
      cargo run -q --release -- index build --list examples/demo-list.csv --out "$tmp/demo.hmsnap" 2>/dev/null
      cargo run -q --release -- scan --index "$tmp/demo.hmsnap" --record examples/uploads >/dev/null 2>&1 || true
      if [ "$t" = snapshot_open ]; then cp "$tmp/demo.hmsnap" "$dir/seed-demo.hmsnap"
      else cp "$tmp/demo.hmsnap.counts.json" "$dir/seed-report.json"; fi
      rm -rf "$tmp" ;;
  esac
  echo "$dir"
}

max_len() {
  case $1 in
    image_hash) echo 1048576 ;;
    video_container) echo 4194304 ;;
    snapshot_open) echo 262144 ;;
    *) echo 65536 ;;
  esac
}

(cd fuzz && cargo fuzz build -O)
status=0
for t in "${targets[@]}"; do
  corpus=$(seed_dir "$t")
  log=$(mktemp)
  if (cd fuzz && cargo fuzz run -O "$t" "../$corpus" -- -max_total_time="$secs" -max_len="$(max_len "$t")" \
        -rss_limit_mb=2560 -timeout=20 -print_final_stats=1) >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/artifacts/$t and $log)"; status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  printf '%-16s %10s executions in %ss, %s, %s\n' "$t" "$runs" "$secs" "${cov:-cov: ?}" "$result"
  [ "$result" = ok ] && rm -f "$log"
done
exit $status
