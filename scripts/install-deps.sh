#!/bin/bash
# Installs what sensord needs on Debian 12, only the packages that are
# missing. Runs apt-get as root (via sudo when needed).
#   scripts/install-deps.sh           building and the whole test suite
#   scripts/install-deps.sh --build   building and running only (the demo)
set -euo pipefail

# building sensord, its man pages, and running it (the demo's python3 edits
# the configuration)
packages=(
        gcc meson ninja-build pkg-config scdoc
        librdkafka-dev libyajl-dev libconfig-dev libsystemd-dev libmicrohttpd-dev
        python3
)
case "${1:-}" in
--build) ;;
"") # the tests: unit, integration, sanitizers, fuzzers, memcheck, packages, systemd-nspawn,
    # a real Apache Kafka (a JRE, and Maven to fetch it: scripts/kafka.sh) and
    # Spark (pyspark in a venv: scripts/spark.sh)
        packages+=(
                clang libclang-rt-14-dev valgrind libcmocka-dev
                python3-kafka python3-confluent-kafka kcat
                debootstrap systemd-container util-linux procps man-db
                debhelper dpkg-dev fakeroot lintian rpm rpmlint elfutils cpio
                prometheus prometheus-node-exporter
                openjdk-17-jre-headless maven openssl python3-venv
        ) ;;
*) echo "usage: scripts/install-deps.sh [--build]" >&2; exit 64 ;;
esac
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
