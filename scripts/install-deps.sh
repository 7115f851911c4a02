#!/usr/bin/env bash
# Installs the Debian packages the build needs, only if some are missing.
# Optional extras are named as arguments:
#   scripts/install-deps.sh gnuplot-nox   # the plot of `vfs bench --matrix`
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config libabsl-dev libboost-dev libgtest-dev libbenchmark-dev
          libsqlite3-dev sqlite3 fuse3 libfuse3-dev liburing-dev groff-base)
packages+=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"
