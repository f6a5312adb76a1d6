#!/bin/sh
# install-deps.sh: installs what charrnn needs on Debian 12 / Ubuntu with apt-get
# (through sudo when not root); does nothing when everything is already there.
#   install-deps.sh          to build: a C compiler, make, OpenBLAS and its OpenMP build, and
#                            libmicrohttpd (the HTTP server under `charrnn serve`) with pkg-config
#   install-deps.sh --test   also what the tests use: curl (the serve tests), valgrind, clang's libFuzzer, chromium,
#                            pkg-config and man-db (the install test), python3-torch (PyTorch interop),
#                            OpenMPI (data-parallel training)
set -e
PKGS="gcc make libc6-dev libopenblas-dev libopenblas0-openmp libmicrohttpd-dev pkg-config"
[ "$1" = "--test" ] && PKGS="$PKGS curl python3 valgrind clang libclang-rt-14-dev chromium pkg-config man-db binutils python3-torch python3-numpy libopenmpi-dev openmpi-bin"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
