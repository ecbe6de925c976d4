#!/usr/bin/env bash
# Build the verifier image here, with no image registry: mmdebstrap makes two minimal Debian bookworm root
# filesystems (runtime: python3; build: python3 + python3-venv), buildah imports them as the Containerfile's
# bases and builds it (chroot isolation, vfs storage: no daemon, no overlay mounts), and the result is
# written as an OCI archive.
#
#   bash image/build.sh [OUT_DIR]      (make image; needs root, `make image-deps` and `make wheelhouse`)
#
# OUT_DIR (default .image) receives verifier.oci.tar (the image, tag localhost/verifier:dev) and buildah's
# storage. The Debian bases are kept there and reused the same day while the lists of their packages are
# unchanged. Debian's mirror is VERIFIER_IMAGE_MIRROR (default http://deb.debian.org; apt checks the
# release signatures with the host's debian-archive-keyring).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-.image}")"
suite="${VERIFIER_IMAGE_SUITE:-bookworm}"
mirror="${VERIFIER_IMAGE_MIRROR:-http://deb.debian.org}"
# The release, its point updates and its security updates (the image should carry the fixed packages).
sources=("deb $mirror/debian $suite main" "deb $mirror/debian $suite-updates main"
         "deb $mirror/debian-security $suite-security main")
tag="localhost/verifier:dev"
mkdir -p "$out"
[ -f .wheelhouse/image/.complete ] || { echo "image/build.sh: run 'make wheelhouse' first" >&2; exit 2; }

buildah=(buildah --root "$out/storage" --runroot "$out/run" --storage-driver vfs)
export BUILDAH_ISOLATION=chroot

# Documentation, manual pages and translations are left out of both bases (a smaller image, less to scan).
trim=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
      --dpkgopt='path-exclude=/usr/share/info/*')

base() {  # base NAME PACKAGES
  local name="$1" packages="$2" tar="$out/base-$1.tar"
  local stamp="$suite:$packages:$(date -u +%F)"  # rebuilt daily, to pick up security updates
  if [ ! -f "$tar" ] || [ "$(cat "$tar.packages" 2>/dev/null)" != "$stamp" ]; then
    mmdebstrap --quiet --variant=minbase --include="$packages" "${trim[@]}" --format=tar \
      "$suite" "$tar.tmp" "${sources[@]}"
    mv "$tar.tmp" "$tar"
    echo "$stamp" > "$tar.packages"
  fi
  local ctr
  ctr="$("${buildah[@]}" from --quiet scratch)"
  "${buildah[@]}" add --quiet "$ctr" "$tar" /
  "${buildah[@]}" commit --quiet --rm "$ctr" "localhost/verifier-base:$name" >/dev/null
}

base runtime python3
base build python3,python3-venv

"${buildah[@]}" build --quiet --isolation chroot --layers=false --pull=never \
  --build-arg BUILD_BASE=localhost/verifier-base:build \
  --build-arg RUNTIME_BASE=localhost/verifier-base:runtime \
  -f Containerfile -t "$tag" . >/dev/null
"${buildah[@]}" rmi --prune >/dev/null 2>&1 || true  # earlier builds' untagged images
rm -f "$out/verifier.oci.tar"
"${buildah[@]}" push --quiet "$tag" "oci-archive:$out/verifier.oci.tar:$tag"
echo "$out/verifier.oci.tar"
