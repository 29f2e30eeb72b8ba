#!/usr/bin/env bash
# Installs every Debian package canaryd's build, tests and demo use. Idempotent: it
# asks dpkg what is already there, installs only what is missing, and says what it
# installs. Safe to run twice; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config clang-14 libclang-rt-14-dev
  # libraries
  libboost1.81-dev libboost-url1.81-dev libyaml-cpp-dev rapidjson-dev libssl-dev
  zlib1g-dev prometheus-cpp-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real components the tests and the demo drive
  kubectl prometheus nginx-light python3 python3-kubernetes unzip curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

# npm (for the helm binary the tests use) may come with a nodejs that is not Debian's;
# Debian's npm conflicts with it, so install npm only when no npm is on the PATH.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
