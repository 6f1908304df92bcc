# Sourced by scripts/demo and scripts/test: create or refresh the project's own virtualenv from
# the committed lockfile (uv.lock) with `uv sync --locked`, so every machine gets exactly the
# same packages, and a dependency change in pyproject.toml without `uv lock` fails here.
# Re-installs only when uv.lock or pyproject.toml changed since the last install.

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

# The uv this checkout pins (the dev extra of pyproject.toml): it reads and writes uv.lock.
pinned_uv_version() {
    sed -n 's/^ *"uv==\([0-9.]*\)".*/\1/p' pyproject.toml
}

# Prints the path of a uv at least as new as the pinned one: uv on PATH if it is, else a copy
# installed with pip into a virtualenv of its own under the user's cache (no root needed,
# shared by every checkout of this project on the machine).
ensure_uv() {
    local python=$1 wanted found home
    wanted=$(pinned_uv_version)
    if [ -z "$wanted" ]; then
        echo "error: pyproject.toml pins no uv (\"uv==X.Y.Z\" in the dev extra)" >&2
        return 1
    fi
    if command -v uv >/dev/null 2>&1; then
        found=$(uv --version | cut -d' ' -f2)
        if [ "$(printf '%s\n%s\n' "$wanted" "$found" | sort -V | head -n1)" = "$wanted" ]; then
            command -v uv
            return 0
        fi
    fi
    home=${XDG_CACHE_HOME:-$HOME/.cache}/allegro-ads-manager/uv-$wanted
    if [ ! -x "$home/bin/uv" ]; then
        echo "==> installing uv $wanted with pip into $home" >&2
        "$python" -m venv "$home" || return 1
        "$home/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$wanted" ||
            return 1
    fi
    echo "$home/bin/uv"
}

# Every step returns on failure itself: a caller's `set -e` does not reach inside a function
# called as part of `&&` or `if`, and a failed sync must never be stamped as installed.
ensure_venv() {
    local python interpreter stamp wanted uv
    python=$(find_python) || return 1
    stamp=.venv/.installed-from
    wanted=$(cat uv.lock pyproject.toml scripts/_env.sh | sha256sum | cut -d' ' -f1)
    if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        uv=$(ensure_uv "$python") || return 1
        interpreter=$("$python" -c 'import sys; print(sys.executable)') || return 1
        echo "==> installing the locked Python packages into .venv (first run takes a minute)" >&2
        # --locked: fail, rather than re-resolve, when uv.lock no longer matches pyproject.toml
        # (run `uv lock` and commit uv.lock). The project itself is installed editable. Never
        # download a Python: use the 3.11 found above. --compile-bytecode: every package's .pyc
        # written now, as pip does; uv does not by default, and where PYTHONDONTWRITEBYTECODE is
        # set (as on CI) each process would otherwise compile Dagster's sources again (~2 s).
        UV_PROJECT_ENVIRONMENT=.venv UV_PYTHON_DOWNLOADS=never \
            "$uv" sync --locked --extra dev --python "$interpreter" --quiet --compile-bytecode ||
            return 1
        echo "$wanted" >"$stamp"
    fi
    # The checkout's own development packages (simulator/, testing/, bench/, tests/) are
    # importable in this venv only; the wheel ships the production packages alone.
    local site
    site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') || return 1
    echo "$PWD" >"$site/allegro_ads_checkout.pth"
    # The checkout's own .pyc too (up-to-date files are skipped): a process that may not write
    # bytecode reads it.
    .venv/bin/python -m compileall -q -j 0 allegro_ads allegro_resource authorize_app \
        control_store pipelines services settings warehouse simulator testing bench tests \
        >/dev/null || return 1
    # The statistics parse's compiled passes (numba) are built once here and kept in
    # __pycache__; otherwise every process of a first run (16 test workers) compiles them.
    .venv/bin/python -c "import allegro_resource.stats_columnar" || return 1
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
