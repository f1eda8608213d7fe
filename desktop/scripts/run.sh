#!/usr/bin/env bash
# Install everything sse-viewer needs (system libraries when root, a virtual
# environment in .venv) and launch the desktop app on its bundled server.
# Arguments go to sse-viewer, e.g. `bash desktop/scripts/run.sh tail URL`.
set -euo pipefail
# shellcheck source=desktop/scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

# shellcheck disable=SC2086
ensure_packages $QT_OFFSCREEN_PACKAGES $QT_WINDOW_PACKAGES
ensure_venv ""
exec "$VENV/bin/sse-viewer" "$@"
