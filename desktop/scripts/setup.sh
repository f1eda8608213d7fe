# Shared set-up for desktop/scripts/run.sh and tests/run.sh: system libraries and the
# project's virtual environment.  Sourced, not run.  Idempotent: a second run
# installs nothing and takes a second.

# Debian packages Qt needs: offscreen rendering, then real windows (Xvfb too,
# for screenshots and for trying the app on a machine without a screen).
QT_OFFSCREEN_PACKAGES="libgl1 libegl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0"
QT_WINDOW_PACKAGES="xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0"
# Tests only (tests/run.sh), never the app: headless Chromium for the browser
# comparison test (tests/server/test_browser_page.py).
TEST_BROWSER_PACKAGES="chromium"
# Tests only: a real HTTP forward proxy (CONNECT, Basic auth) and a real SOCKS5
# proxy for tests/core/engine/test_proxy.py.
TEST_PROXY_PACKAGES="tinyproxy microsocks"
# Tests only: a real Redis for the Redis Streams broker (tests/redisserver.py).
TEST_REDIS_PACKAGES="redis-server"

say() { printf '%s\n' "$*" >&2; }

missing_packages() {
    local pkg missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing="$missing $pkg"
    done
    printf '%s' "${missing# }"
}

# ensure_packages PKG...: install what is missing when root; otherwise say what to run.
ensure_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0  # not Debian: trust the system
    local missing
    missing=$(missing_packages "$@")
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ]; then
        say "Installing system packages: $missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        say "Missing system packages. Install them with:"
        say "  sudo apt-get install -y --no-install-recommends $missing"
        return 1
    fi
}

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            printf '%s' "$candidate"
            return 0
        fi
    done
    say "sse-viewer needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)."
    return 1
}

# ensure_venv EXTRA: a virtual environment in $VENV with the project installed
# editable (EXTRA: "" or "test"), pinned by the lock file; reinstalls only when
# pyproject.toml or the lock file changed.
ensure_venv() {
    local extra="$1" python stamp spec
    python=$(find_python) || return 1
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            ensure_packages python3-venv || return 1
            "$python" -m venv "$VENV" || return 1
        fi
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    fi
    stamp="$VENV/.sse-viewer-$(cat "$ROOT/pyproject.toml" "$ROOT/requirements.lock" 2>/dev/null | sha256sum | cut -c1-16)-${extra:-app}"
    [ -f "$stamp" ] && return 0
    spec="$ROOT"
    [ -n "$extra" ] && spec="$ROOT[$extra]"
    say "Installing sse-viewer${extra:+ with [$extra]} into $VENV ..."
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        -c "$ROOT/requirements.lock" -e "$spec" || return 1
    rm -f "$VENV"/.sse-viewer-*-"${extra:-app}"
    touch "$stamp"
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${SSE_VIEWER_VENV:-$ROOT/.venv}
