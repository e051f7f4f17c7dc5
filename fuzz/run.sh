#!/usr/bin/env bash
# Builds and runs a fuzz target on the STABLE toolchain: libfuzzer-sys links libFuzzer (built from
# C++ with the system compiler), and the SanitizerCoverage instrumentation libFuzzer needs is
# requested with stable `-C` codegen flags (no nightly, no cargo-fuzz, no ASan: the code is safe
# Rust, so a panic is the bug signal).
#   fuzz/run.sh [target] [libFuzzer args...]     e.g. fuzz/run.sh parse_event_key -max_total_time=60
set -euo pipefail
cd "$(dirname "$0")"
target="${1:-parse_event_key}"
shift || true
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (as cargo-fuzz does).
triple="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --target "$triple" --bin "$target"
mkdir -p "corpus/$target" "artifacts/$target"
exec "target/$triple/release/$target" -artifact_prefix="artifacts/$target/" "corpus/$target" "seeds/$target" "$@"
