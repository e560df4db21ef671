#!/usr/bin/env bash
# `prepare`, which `npm install` runs in this checkout: compile dist/ (`npm run build`),
# so `npm install && npm start` works on a fresh clone. A production install
# (`npm ci --omit=dev`) has no compiler: it uses the dist/ built beside it (the
# Dockerfile's build stage) and skips this, as it does with `--ignore-scripts`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -e node_modules/typescript ] || [ ! -e node_modules/tsx ]; then
  echo "prepare: devDependencies not installed, not building; dist/ is used as it is"
  exit 0
fi
npm run build
