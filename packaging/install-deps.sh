#!/bin/sh
# Install every package in packaging/dependencies.txt on Debian 12.
# Usage: sudo packaging/install-deps.sh   (idempotent; safe to re-run)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(sed -e 's/#.*//' "$here/dependencies.txt" | tr -s ' \t' '\n' | grep -v '^$')
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
