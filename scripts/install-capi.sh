#!/usr/bin/env sh
# Installs the hashmatch C library: header, static library (and, with --shared, the shared
# one) and a pkg-config file whose static link line comes from rustc itself.
#
#   scripts/install-capi.sh [--shared] [PREFIX]        (PREFIX defaults to /usr/local)
#
# Installs under $DESTDIR$PREFIX: include/hashmatch.h, lib/libhashmatch.a,
# lib/pkgconfig/hashmatch.pc (and lib/libhashmatch.so with --shared). Then:
#   cc app.c $(pkg-config --cflags --static --libs hashmatch)
# Static linking is recommended (the C ABI carries no stability promise across versions yet);
# when libhashmatch.so is installed too, the linker prefers it for -lhashmatch.
set -eu
cd "$(dirname "$0")/.."

shared=no
if [ "${1:-}" = "--shared" ]; then
  shared=yes
  shift
fi
prefix=${1:-/usr/local}
dest=${DESTDIR:-}

cargo build --release --lib
# The system libraries a Rust static library needs on this platform, as rustc reports them
# (`cargo rustc` rebuilds only this crate, as a staticlib, to print the note).
native=$(cargo rustc --release --lib --crate-type staticlib -- --print native-static-libs 2>&1 |
  sed -n 's/.*native-static-libs: //p' | tail -n 1)
if [ -z "$native" ]; then
  echo "install-capi: rustc did not report native-static-libs" >&2
  exit 1
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

install -d "$dest$prefix/include" "$dest$prefix/lib/pkgconfig"
install -m 644 include/hashmatch.h "$dest$prefix/include/hashmatch.h"
install -m 644 target/release/libhashmatch.a "$dest$prefix/lib/libhashmatch.a"
if [ "$shared" = yes ]; then
  install -m 755 target/release/libhashmatch.so "$dest$prefix/lib/libhashmatch.so"
fi
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@NATIVE_STATIC_LIBS@|$native|" \
  hashmatch.pc.in >"$dest$prefix/lib/pkgconfig/hashmatch.pc"
echo "installed hashmatch $version under $dest$prefix (static libs: $native)"
