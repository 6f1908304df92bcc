# Sourced by scripts/demo and scripts/test: create or refresh the project's own virtualenv.
# Reinstalls only when pyproject.toml changed since the last install, so a second run is quick.

find_python() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 is needed (python3.11 or python3 on PATH)" >&2
    return 1
}

ensure_venv() {
    local python stamp wanted
    python=$(find_python)
    if [ ! -x .venv/bin/python ]; then
        echo "==> creating .venv with $python" >&2
        "$python" -m venv .venv
    fi
    stamp=.venv/.installed-from
    wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        echo "==> installing Python packages into .venv (first run takes a few minutes)" >&2
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        echo "$wanted" >"$stamp"
    fi
    # The checkout's own development packages (simulator/, testing/, bench/, tests/) are
    # importable in this venv only; the wheel ships the production packages alone.
    local site
    site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
    echo "$PWD" >"$site/allegro_ads_checkout.pth"
}

ensure_chromium() {
    # Browser tests drive Debian's chromium (never a downloaded browser build).
    [ -x /usr/bin/chromium ] && return 0
    echo "==> installing Debian's chromium for the browser tests" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

ensure_npm() {
    # The browser tests' accessibility checks install axe-core from the npm registry with
    # `npm ci` (tests/browser_support/package-lock.json); only npm itself comes from Debian.
    command -v npm >/dev/null 2>&1 && return 0
    echo "==> installing Debian's npm for the browser tests' axe-core" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq npm >/dev/null
}
