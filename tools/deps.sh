#!/usr/bin/env bash
# tools/deps.sh — installs the Debian 12 packages flatline needs, only those
# missing. Runs apt-get as root (directly, or through sudo).
#   tools/deps.sh          build, test and demo dependencies (tests: cmocka,
#                          the Fashion-MNIST data set, python3 for the
#                          suite and read_safetensors.py, oclgrind for
#                          tests/oclgrind.sh; dpkg-dev (dpkg-shlibdeps for
#                          cpack), bash-completion (its folder) and strace
#                          for tests/package.sh; chromium for
#                          tests/report_browser.sh; slurm-wlm and munge
#                          for tests/test_slurm.sh's single-node cluster)
#   tools/deps.sh --bench  also PyTorch and NumPy for bench/, and OpenBLAS so
#                          that PyTorch's BLAS is a fast one (a fair peer)
set -euo pipefail

pkgs=(cmake ninja-build pkg-config gcc libc6-dev
      ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
      libclblast-dev libuv1-dev libcjson-dev libcmocka-dev zlib1g-dev libssl-dev
      clang systemd dpkg-dev bash-completion strace
      dataset-fashion-mnist python3 oclgrind chromium slurm-wlm munge)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(python3-torch python3-numpy libopenblas0-pthread)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "deps: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
