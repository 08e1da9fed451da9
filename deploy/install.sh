#!/usr/bin/env bash
# Install (or update) inspector as a systemd service. Idempotent: run it again after an
# upgrade; it changes only what differs and never overwrites the operator's config.
#
#   sudo deploy/install.sh [--wheelhouse DIR] [--start]
#
# Lays down:
#   /opt/inspector/venv                  virtualenv with the inspector package (from this checkout)
#   /opt/inspector/README.md             the manual (the unit's Documentation=)
#   /opt/inspector/bin/inspector-logs    operator log views, linked from /usr/local/bin
#   /etc/inspector/inspector.yaml        the config (created from config/line-example.yaml if absent)
#   /etc/systemd/system/inspector.service
#   /var/lib/inspector/{archive,state}   writable state (the unit's ReadWritePaths)
#   user/group 'inspector'               system account, in 'video'/'render' where those exist
#
# Options:
#   --prefix DIR      install under DIR instead of / (no user creation, no systemctl): for tests
#                     and image builds
#   --dry-run         print what would be done, change nothing
#   --no-pip          create the venv but do not pip-install the package (tests; offline images)
#   --wheelhouse DIR  install from wheels in DIR only (offline factory PCs: pip --no-index)
#   --python EXE      interpreter for the venv (default: python3)
#   --start           (re)start the service after installing
set -euo pipefail

PREFIX="" DRY_RUN=0 NO_PIP=0 WHEELHOUSE="" PYTHON="python3" START=0
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        --no-pip) NO_PIP=1; shift ;;
        --wheelhouse) WHEELHOUSE="${2:?--wheelhouse needs a directory}"; shift 2 ;;
        --python) PYTHON="${2:?--python needs an interpreter}"; shift 2 ;;
        --start) START=1; shift ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

SERVICE_USER=inspector
OPT="$PREFIX/opt/inspector"
ETC="$PREFIX/etc/inspector"
UNIT_DIR="$PREFIX/etc/systemd/system"
STATE="$PREFIX/var/lib/inspector"
VENV="$OPT/venv"
CHANGED_UNIT=0

say() { echo "install: $*"; }
run() {
    if [ "$DRY_RUN" = 1 ]; then say "would run: $*"; else "$@"; fi
}
as_root_only() { [ -z "$PREFIX" ]; }

if as_root_only && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (or use --prefix DIR / --dry-run)" >&2
    exit 1
fi

ensure_user() {
    if ! as_root_only; then
        say "prefix install: not creating user '$SERVICE_USER'"
        return
    fi
    if getent passwd "$SERVICE_USER" >/dev/null; then
        say "user '$SERVICE_USER' exists"
    else
        run useradd --system --user-group --home-dir /var/lib/inspector --no-create-home \
            --shell /usr/sbin/nologin --comment "inspector daemon" "$SERVICE_USER"
    fi
    for group in video render; do
        if getent group "$group" >/dev/null && ! id -nG "$SERVICE_USER" 2>/dev/null | grep -qw "$group"; then
            run usermod -a -G "$group" "$SERVICE_USER"
        fi
    done
}

ensure_dir() {  # path mode [owner]
    local path="$1" mode="$2" owner="${3:-}"
    if [ -d "$path" ]; then say "dir $path exists"; else run install -d -m "$mode" "$path"; fi
    run chmod "$mode" "$path"
    if [ -n "$owner" ] && as_root_only; then run chown "$owner" "$path"; fi
}

ensure_venv() {
    if [ -x "$VENV/bin/python" ]; then
        say "venv $VENV exists"
    elif [ "$NO_PIP" = 1 ]; then
        run "$PYTHON" -m venv --without-pip "$VENV"
    else
        run "$PYTHON" -m venv "$VENV"
    fi
    if [ "$NO_PIP" = 1 ]; then
        say "--no-pip: package not installed into $VENV"
        return
    fi
    local pip_args=(--disable-pip-version-check --quiet --upgrade)
    if [ -n "$WHEELHOUSE" ]; then pip_args+=(--no-index --find-links "$WHEELHOUSE"); fi
    run "$VENV/bin/pip" install "${pip_args[@]}" "$SOURCE"
}

install_file() {  # src dst mode: copy only when different
    local src="$1" dst="$2" mode="$3"
    if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
        say "$dst up to date"
        return 1
    fi
    run install -m "$mode" "$src" "$dst"
    return 0
}

ensure_config() {
    local example="$SOURCE/config/line-example.yaml"
    [ -f "$example" ] || example="$SOURCE/deploy/minimal.yaml"
    install_file "$example" "$ETC/inspector.yaml.example" 0640 || true
    if [ -f "$ETC/inspector.yaml" ]; then
        say "$ETC/inspector.yaml kept (operator's config is never overwritten)"
    else
        run install -m 0640 "$example" "$ETC/inspector.yaml"
    fi
    if as_root_only; then run chgrp "$SERVICE_USER" "$ETC" "$ETC/inspector.yaml" "$ETC/inspector.yaml.example"; fi
}

ensure_docs_and_tools() {
    install_file "$SOURCE/README.md" "$OPT/README.md" 0644 || true
    install_file "$SOURCE/deploy/inspector-logs" "$OPT/bin/inspector-logs" 0755 || true
    if ! as_root_only; then
        say "prefix install: not linking /usr/local/bin/inspector-logs"
        return
    fi
    local link=/usr/local/bin/inspector-logs target="$OPT/bin/inspector-logs"
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$target" ]; then
        say "$link up to date"
    elif [ -e "$link" ] && ! [ -L "$link" ] && ! grep -q "Operator views of inspector" "$link"; then
        say "$link exists and is not inspector's: kept (run $target)"
    else  # absent, a stale link, or a copy made by hand from an older README: link the installed one
        run install -d -m 0755 /usr/local/bin
        run ln -sfn "$target" "$link"
    fi
}

ensure_unit() {
    if install_file "$SOURCE/systemd/inspector.service" "$UNIT_DIR/inspector.service" 0644; then
        CHANGED_UNIT=1
    fi
}

systemd_steps() {
    if ! as_root_only; then
        say "prefix install: skipping systemctl"
        return
    fi
    if [ ! -d /run/systemd/system ]; then
        say "systemd is not running here: skipping systemctl (enable the unit on the target)"
        return
    fi
    if [ "$CHANGED_UNIT" = 1 ]; then run systemctl daemon-reload; fi
    run systemctl enable inspector.service
    if [ "$START" = 1 ]; then run systemctl restart inspector.service; fi
}

check_config() {
    if [ "$NO_PIP" = 1 ] || [ "$DRY_RUN" = 1 ]; then return; fi
    say "validating $ETC/inspector.yaml"
    "$VENV/bin/inspector" check --config "$ETC/inspector.yaml"
}

ensure_user
ensure_dir "$OPT" 0755
ensure_dir "$OPT/bin" 0755
ensure_dir "$ETC" 0750
ensure_dir "$UNIT_DIR" 0755
ensure_dir "$STATE" 0750 "$SERVICE_USER:$SERVICE_USER"
ensure_dir "$STATE/archive" 0750 "$SERVICE_USER:$SERVICE_USER"
ensure_dir "$STATE/state" 0750 "$SERVICE_USER:$SERVICE_USER"
ensure_venv
ensure_config
ensure_docs_and_tools
ensure_unit
check_config
systemd_steps
say "done. Logs: journalctl -u inspector -o cat -f | jq .   (recipes: deploy/README.md)"
