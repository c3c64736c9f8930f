#!/usr/bin/env bash
# The README's quick start: `bash tools/quickstart.sh` sets ecs_models up in the checkout's own
# virtual environment (.venv) with the system's python3, then opens the window. Arguments, if
# any, are an ecs-models command line instead (`bash tools/quickstart.sh pull llama3.2`).
#
# A distribution's Python refuses `pip install` outside a virtual environment (PEP 668), and
# Debian and Ubuntu ship venv's pip bootstrap separately (python3-venv), so that package is
# installed when missing. Every step is skipped when already done: run again, it starts at once.
# PYTHON=/path/to/python3.x picks another interpreter (3.11 or newer) for a new .venv.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
venv="$root/.venv"
python="${PYTHON:-python3}"
# shellcheck source=tools/debian-packages.sh
. "$root/tools/debian-packages.sh"

say() { echo "quickstart: $*" >&2; }
fail() {
    echo "error: $*" >&2
    exit 1
}

if ! command -v "$python" >/dev/null 2>&1; then
    [ "$python" = python3 ] || fail "$python was not found."
    ensure_debian_packages python3
fi
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    fail "ecs_models needs Python 3.11 or newer, and $python is $version; run with" \
        "PYTHON=/path/to/python3.11 (or newer) bash tools/quickstart.sh"

# A usable environment runs and has pip. `python3 -m venv` without python3-venv leaves a .venv
# with no pip behind, so that one is made again.
venv_usable() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import pip' 2>/dev/null; }
if ! venv_usable; then
    if [ -e "$venv" ]; then
        # Only ever delete a virtual environment, never a directory someone put there by hand.
        [ -f "$venv/pyvenv.cfg" ] || fail "$venv exists but is not a virtual environment; move it away."
        say "$venv is incomplete or its Python is gone: making it again"
        rm -rf "$venv"
    fi
    if ! "$python" -c 'import ensurepip' 2>/dev/null; then
        ensure_debian_packages python3-venv "python$version-venv"
    fi
    say "creating $venv with $(command -v "$python") ($version)"
    "$python" -m venv "$venv" || fail "could not create $venv with $python."
fi

# Installed editable, so an updated checkout runs without reinstalling; only a change of
# pyproject.toml (the dependencies), of the interpreter or of the checkout's place reinstalls.
stamp_file="$venv/.ecs-models-quickstart"
stamp="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1) $("$venv/bin/python" -V) $root"
if [ ! -x "$venv/bin/ecs-models" ] || [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
    say "installing ecs_models and its dependencies into $venv (a minute the first time)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install -q -e "$root"
    echo "$stamp" >"$stamp_file"
    say "ready. Next time run $venv/bin/ecs-models [COMMAND] (no command opens the window)," \
        "or '. $venv/bin/activate' and then ecs-models ..."
fi

exec "$venv/bin/ecs-models" "$@"
