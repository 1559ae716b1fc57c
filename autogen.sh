#!/bin/sh
# Generates ./configure from configure.ac (generated files are never committed).
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --install --force --warnings=all
