#!/usr/bin/env bash
# Installs every Debian 12 package saddle needs to build, test, plot and run under MPI, in one apt call.
# Idempotent: when everything is present it only checks (seconds) and installs nothing.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev liblapacke-dev
  libsundials-dev
  libfyaml-dev
  libjansson-dev
  librandom123-dev
  libplplot-dev plplot-driver-cairo fonts-dejavu-core
  libcriterion-dev
  libopenmpi-dev openmpi-bin
  python3 python3-numpy
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
