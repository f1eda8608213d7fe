#!/usr/bin/env bash
# Install what the tests need (system libraries when root, .venv with the
# [test] extra) and run every check: ruff, mypy, the whole pytest suite.
# Arguments go to pytest, e.g. `bash tests/run.sh -k tail -x`.
set -euo pipefail
# shellcheck source=desktop/scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/../desktop/scripts/setup.sh"
cd "$ROOT"

# shellcheck disable=SC2086
ensure_packages $QT_OFFSCREEN_PACKAGES $QT_WINDOW_PACKAGES $TEST_BROWSER_PACKAGES $TEST_PROXY_PACKAGES $TEST_REDIS_PACKAGES
ensure_venv test

export QT_QPA_PLATFORM=offscreen
export PYTHONDONTWRITEBYTECODE=1

# Every check runs, so one failure does not hide another; any failure fails.
failed=""
say "== ruff"
"$VENV/bin/ruff" check . || failed="$failed ruff"
say "== mypy (strict: desktop/core, tail, cli, server)"
"$VENV/bin/mypy" || failed="$failed mypy"
say "== pytest"
status=0
"$VENV/bin/python" -m pytest "$@" || status=$?
if [ "$status" = 5 ]; then
    say "pytest collected no tests: that is a failure here."
    failed="$failed pytest(no-tests)"
elif [ "$status" != 0 ]; then
    failed="$failed pytest"
fi
if [ -n "$failed" ]; then
    say "FAILED:$failed"
    exit 1
fi
say "All checks passed."
