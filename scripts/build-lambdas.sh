#!/usr/bin/env bash
# Builds the Lambda binaries (package recorder-lambdas, feature lambda-bins) for AWS Lambda's
# arm64 `provided.al2023` runtime and lays each one out as the `bootstrap` Terraform zips:
#
#   --release  →  target/lambda/<function>/bootstrap        (what infra/terraform deploys)
#   (debug)    →  target/lambda-debug/<function>/bootstrap  (for quick checks; never deployed)
#
# Target aarch64-unknown-linux-gnu, linked by zig (cargo-zigbuild) against glibc 2.34: Lambda's
# provided.al2023 ships glibc 2.34 while this Debian 12 machine has 2.36, and a binary linked
# against the host's glibc may require symbol versions the runtime lacks and fail to start. zig
# links against 2.34 stubs, so no newer symbol can be picked up.
#
# Tools: `scripts/setup.sh lambda` (cargo-zigbuild + zig from PyPI in .tools/py-zig, the rustup
# target). Uses the shared target dir ($CARGO_TARGET_DIR or target/). Idempotent: a second run
# with nothing changed rebuilds nothing and rewrites no bootstrap.
#
# Usage: scripts/build-lambdas.sh [--release] [FUNCTION...]   (default: all four functions)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET=aarch64-unknown-linux-gnu
# Lambda provided.al2023's glibc (Amazon Linux 2023).
GLIBC=2.34
ZIG_VENV="$ROOT/.tools/py-zig"
ALL_FUNCTIONS=(chunk-upload-handler catalog-stream-handler sweeper execution-status-handler)

log() { printf '[build-lambdas] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

profile=debug
functions=()
for arg in "$@"; do
  case "$arg" in
    --release) profile=release ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *)
      printf '%s\n' "${ALL_FUNCTIONS[@]}" | grep -qx -- "$arg" \
        || die "unknown function $arg (known: ${ALL_FUNCTIONS[*]})"
      functions+=("$arg") ;;
  esac
done
[ ${#functions[@]} -gt 0 ] || functions=("${ALL_FUNCTIONS[@]}")

[ -x "$ZIG_VENV/bin/cargo-zigbuild" ] \
  || die "cargo-zigbuild is missing in $ZIG_VENV: run scripts/setup.sh lambda"
rustup target list --installed 2>/dev/null | grep -qx "$TARGET" \
  || die "rust target $TARGET is missing: run scripts/setup.sh lambda"

# cargo-zigbuild finds zig as `python3 -m ziglang` of the venv.
export PATH="$ZIG_VENV/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ "$profile" = release ]; then
  out_root="$target_dir/lambda"
  profile_args=(--release)
else
  out_root="$target_dir/lambda-debug"
  profile_args=()
fi

bin_args=()
for f in "${functions[@]}"; do bin_args+=(--bin "$f"); done

log "cargo zigbuild ($profile) --target $TARGET.$GLIBC: ${functions[*]}"
(cd "$ROOT" && cargo zigbuild "${profile_args[@]}" --target "$TARGET.$GLIBC" \
  -p recorder-lambdas --features lambda-bins "${bin_args[@]}")

for f in "${functions[@]}"; do
  built="$target_dir/$TARGET/$profile/$f"
  [ -f "$built" ] || die "expected $built after the build"
  dest="$out_root/$f/bootstrap"
  mkdir -p "$(dirname "$dest")"
  if ! cmp -s "$built" "$dest"; then
    cp "$built" "$dest.tmp"
    chmod 0755 "$dest.tmp"
    mv -f "$dest.tmp" "$dest"
  fi
  printf '%s\n' "$dest"
done
