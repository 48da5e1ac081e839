#!/bin/sh
# Installs npm dependencies when they are missing or older than package-lock.json, so the README's
# commands work on a fresh clone without a separate install step.
set -e
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
