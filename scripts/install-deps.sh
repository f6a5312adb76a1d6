#!/bin/sh
# install-deps.sh: installs what charrnn needs to build and test on Debian 12 /
# Ubuntu (a C compiler, make, OpenBLAS and its OpenMP build), with apt-get, through sudo when not root.
# Does nothing when everything is already there.
set -e
PKGS="gcc make libc6-dev libopenblas-dev libopenblas0-openmp"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
