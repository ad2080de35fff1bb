#!/bin/bash
# Installs what building and testing sensord needs on Debian 12, only the
# packages that are missing. Runs apt-get as root (via sudo when needed).
set -euo pipefail

packages=(
        gcc meson ninja-build pkg-config clang libclang-rt-14-dev valgrind
        librdkafka-dev libyajl-dev libconfig-dev libsystemd-dev libcmocka-dev
        python3 python3-kafka python3-confluent-kafka kcat
        debootstrap systemd-container util-linux procps
        scdoc man-db
        debhelper dpkg-dev fakeroot lintian rpm rpmlint elfutils cpio
)
missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
