#!/usr/bin/env bash
# Debian packages the test suite drives for real: Chromium (browser tests), bubblewrap and
# libseccomp (the sandbox for submitted code), docker-compose (validates docker/compose.yml; no engine) and
# wrk (the read load of `make proof`).
# Installs whatever is missing when it can (root, or sudo without a password); otherwise
# says what to install and fails.
set -euo pipefail

declare -A COMMAND_OF=([chromium]=chromium [bubblewrap]=bwrap [docker-compose]=docker-compose
                       [wrk]=wrk)
missing=()
for package in "${!COMMAND_OF[@]}"; do
  command -v "${COMMAND_OF[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
# libseccomp: the sandbox's filter that allows no second process (a library, not a command).
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so' || missing+=(libseccomp2)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "Missing Debian packages: ${missing[*]}. Install them: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
