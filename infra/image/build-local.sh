#!/usr/bin/env bash
# Builds the Pipelines image with podman on a machine that reaches Debian's package archive but no container
# registry: the three base images the Dockerfile takes as build arguments are made here from Debian packages with
# mmdebstrap (runtime base: bookworm; SDK: bookworm plus this machine's .NET SDK, which Debian does not package;
# web build: trixie, whose nodejs is new enough for Vite). With a registry, plain `podman build -f infra/Dockerfile .`
# (or docker build) uses the official images instead and none of this is needed.
#
#   bash infra/image/build-local.sh [TAG]        # default TAG: localhost/pipelines:dev
#
# It also builds the PostgreSQL and Azurite images infra/compose.local.yaml uses in place of the registry's.
#
# The Debian mirror is the one this machine's apt uses (or MIRROR / SECURITY_MIRROR), and this machine's extra CA
# certificates (/usr/local/share/ca-certificates) are added to the build-only images, so NuGet and npm restores
# work behind the same TLS-inspecting proxy the host uses. Nothing of that reaches the runtime image.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-localhost/pipelines:dev}

for tool in podman mmdebstrap; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install podman mmdebstrap)" >&2; exit 2; }
done

# The archive this machine installs from, read from its apt sources (deb822 or one-line format).
apt_uri() { # $1: path suffix, e.g. /debian or /debian-security
  { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true
    grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' || true
  } | grep -E "$1/?\$" | head -1 || true
}
mirror=${MIRROR:-$(apt_uri /debian)}
security=${SECURITY_MIRROR:-$(apt_uri /debian-security)}
[ -n "$mirror" ] || { echo "no Debian mirror found in the apt sources; set MIRROR" >&2; exit 2; }

dotnet_root=${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}
cas=()
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$crt" ] && cas+=(--customize-hook="copy-in $crt /usr/local/share/ca-certificates/")
done
nuget_config=()
[ -f "$HOME/.nuget/NuGet/NuGet.Config" ] && nuget_config=(
  --customize-hook='mkdir -p "$1/root/.nuget/NuGet"'
  --customize-hook="copy-in $HOME/.nuget/NuGet/NuGet.Config /root/.nuget/NuGet/")

# $1 image, $2 suite, rest: mmdebstrap options. Skipped when the image exists (delete it to rebuild).
debian_image() {
  local image=$1 suite=$2; shift 2
  if podman image exists "$image"; then echo "using existing $image"; return; fi
  echo "building $image from Debian $suite packages..."
  local sources=("deb $mirror $suite main" "deb $mirror $suite-updates main")
  [ -n "$security" ] && sources+=("deb $security $suite-security main")
  mmdebstrap --variant=minbase --format=tar --skip=cleanup/apt/lists "$@" \
      --customize-hook='chroot "$1" update-ca-certificates' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
      "$suite" - "${sources[@]}" \
    | podman import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
}

debian_image localhost/pipelines-build/debian:bookworm bookworm --include=ca-certificates
debian_image localhost/pipelines-build/sdk:10.0 bookworm --include=ca-certificates,libicu72,git "${cas[@]}" "${nuget_config[@]}" \
  --customize-hook='mkdir -p "$1/usr/share/dotnet"' --customize-hook="sync-in $dotnet_root /usr/share/dotnet" \
  --customize-hook='ln -sf /usr/share/dotnet/dotnet "$1/usr/bin/dotnet"'
debian_image localhost/pipelines-build/node:20 trixie --include=ca-certificates,nodejs,npm "${cas[@]}"
[ "${BASES_ONLY:-}" = 1 ] && exit 0

. infra/image/podman-options.sh localhost/pipelines-build/debian:bookworm
# Docker format: the OCI image format has no HEALTHCHECK.
podman "${PODMAN_GLOBAL[@]}" build "${PODMAN_RUN[@]}" --format docker -f infra/Dockerfile -t "$tag" \
  --build-arg SDK_IMAGE=localhost/pipelines-build/sdk:10.0 \
  --build-arg NODE_IMAGE=localhost/pipelines-build/node:20 \
  --build-arg BASE_IMAGE=localhost/pipelines-build/debian:bookworm \
  .
echo "built $tag"
# PostgreSQL and Azurite for the compose stack, from the same bases (infra/compose.local.yaml names these tags).
podman "${PODMAN_GLOBAL[@]}" build "${PODMAN_RUN[@]}" --format docker -f infra/image/local/postgres.Dockerfile \
  -t localhost/pipelines-local/postgres:15 .
podman "${PODMAN_GLOBAL[@]}" build "${PODMAN_RUN[@]}" --format docker -f infra/image/local/azurite.Dockerfile \
  -t localhost/pipelines-local/azurite:3.35.0 .
echo "built localhost/pipelines-local/postgres:15 and localhost/pipelines-local/azurite:3.35.0 (infra/compose.local.yaml)"
