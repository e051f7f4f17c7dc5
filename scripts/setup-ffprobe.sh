#!/usr/bin/env bash
# Builds the media activity's ffprobe: FFmpeg's own source (Debian's pinned, security-patched
# release, verified by SHA-256) configured with nothing but what probing a chunk needs: the file
# protocol, the MP4 (mov) and FLAC demuxers, the AAC and FLAC decoders and parsers. No network
# protocols, devices, filters or other formats exist in it, and it links only libc and libm.
#
# Why: every chunk of a recording is probed before the join. Debian's ffprobe loads 215 shared
# libraries, and starting it costs about 63 ms of CPU (the dynamic loader and page faults; see
# `perf record -- ffprobe -version`), so probing a 60-chunk hour cost more than decoding it. This
# one starts in about 6 ms and exposes a hostile chunk to two demuxers instead of every one.
#
# Usage: scripts/setup-ffprobe.sh CACHE_DIR   (installs CACHE_DIR/tools/ffprobe; idempotent)
# If the source cannot be fetched or built, it says so and exits 0: the media activity then uses
# the system ffprobe (same arguments and whitelists, slower start) and logs which one it runs.
set -euo pipefail

CACHE=${1:?usage: setup-ffprobe.sh CACHE_DIR}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
VERSION=5.1.9
SHA256=d9b593bb2ba93d4b50f74177e0cdcd41747e708596367deed0c30348a71dd176
TARBALL="ffmpeg_${VERSION}.orig.tar.xz"
URLS=(
  "http://deb.debian.org/debian-security/pool/updates/main/f/ffmpeg/$TARBALL"
  "http://deb.debian.org/debian/pool/main/f/ffmpeg/$TARBALL"
)
CONFIGURE=(
  --disable-everything --disable-autodetect --disable-network --disable-doc --disable-debug
  --disable-ffmpeg --disable-ffplay --enable-ffprobe
  --disable-avdevice --disable-avfilter --disable-swscale --disable-postproc
  --enable-static --disable-shared --disable-x86asm
  --enable-protocol=file
  --enable-demuxer=mov,flac
  --enable-decoder=aac,flac
  --enable-parser=aac,flac
)

log() { printf '[setup] %s\n' "$*" >&2; }

TOOLS="$CACHE/tools"
TARGET="$TOOLS/ffprobe"
STAMP="$TOOLS/ffprobe.build"
WANTED="$VERSION $SHA256 ${CONFIGURE[*]}"
if [ -x "$TARGET" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANTED" ]; then
  exit 0
fi

for tool in make cc curl tar; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "minimal ffprobe: $tool is missing (scripts/setup.sh apt as root installs it); the media activity will use the system ffprobe"
    exit 0
  fi
done

mkdir -p "$TOOLS"
BUILD=$(mktemp -d "$CACHE/ffprobe-build.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT

fetched=
for url in "${URLS[@]}"; do
  if curl -sSfL --retry 2 -o "$BUILD/$TARBALL" "$url"; then
    fetched=$url
    break
  fi
done
if [ -z "$fetched" ]; then
  log "minimal ffprobe: cannot download $TARBALL from the Debian mirrors; the media activity will use the system ffprobe"
  exit 0
fi
actual=$(sha256sum "$BUILD/$TARBALL" | cut -d' ' -f1)
if [ "$actual" != "$SHA256" ]; then
  log "minimal ffprobe: $TARBALL has SHA-256 $actual, expected $SHA256: refusing it"
  exit 1
fi

log "building a minimal ffprobe $VERSION (MP4/FLAC demuxers, AAC/FLAC decoders; about a minute)"
tar -xJf "$BUILD/$TARBALL" -C "$BUILD"
(
  cd "$BUILD/ffmpeg-$VERSION"
  ./configure "${CONFIGURE[@]}" >"$BUILD/configure.log" 2>&1
  make -j"$(nproc)" ffprobe >"$BUILD/make.log" 2>&1
) || {
  log "minimal ffprobe: the build failed (last lines below); the media activity will use the system ffprobe"
  tail -n 20 "$BUILD/configure.log" "$BUILD/make.log" >&2 || true
  exit 0
}
install -m 0755 "$BUILD/ffmpeg-$VERSION/ffprobe" "$TARGET.new"
mv "$TARGET.new" "$TARGET"
echo "$WANTED" >"$STAMP"
log "minimal ffprobe installed: $TARGET"
