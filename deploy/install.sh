#!/usr/bin/env bash
# Install (or remove) the chargepoint controller as a systemd service.
# Target: Raspberry Pi OS Bookworm / Debian 12 (Trixie / Debian 13 should work the same).
#
#   sudo deploy/install.sh                 install or upgrade, enable and start the service
#   sudo deploy/install.sh --uninstall     remove service and program; keep config and state
#   sudo deploy/install.sh --uninstall --purge   also remove config, state and the user
#
# Options:
#   --root DIR    install into DIR instead of / (for image building and tests): files are
#                 written under DIR; commands that change the running system (apt-get, useradd,
#                 groupadd, usermod, chown, systemctl) are printed, not run.
#   --dry-run     print every step, change nothing.
#   --skip-venv   do not create/upgrade the virtualenv (tests; the venv must exist already).
#   --source DIR  the chargepoint source tree (default: the one this script is in).
#
# Idempotent: a second run changes nothing but the program; an existing config is never
# overwritten, and a running service is not restarted (the script says how to).
#
# Who owns what (docs/security.md): the `chargepoint` command on root's PATH is the root-owned
# venv in /opt/chargepoint/venv, never a release slot under /var/lib/chargepoint (the service
# user and firmware updates write there); the install stops with an error if that venv is
# writable by anyone but root. Config and keys: root:chargepoint, no access for others.
set -euo pipefail

ROOT=/
DRY=0
UNINSTALL=0
PURGE=0
SKIP_VENV=0
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
USER_NAME=chargepoint
GROUPS_NEEDED=(gpio spi dialout)
# [control] group / technician_group of the shipped config: people, never the service user.
CLI_GROUPS=(chargepoint-ops chargepoint-tech)

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --root=*) ROOT="${1#--root=}"; shift ;;
        --dry-run) DRY=1; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --purge) PURGE=1; shift ;;
        --skip-venv) SKIP_VENV=1; shift ;;
        --source) SOURCE="${2:?--source needs a directory}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then
    echo "install.sh: --purge only goes with --uninstall" >&2; exit 2
fi
ROOT="$(cd "$ROOT" 2>/dev/null && pwd || echo "$ROOT")"
LIVE=1; [ "$ROOT" != "/" ] && LIVE=0

# Paths inside the target system.
P() { if [ "$ROOT" = "/" ]; then printf '%s' "$1"; else printf '%s%s' "$ROOT" "$1"; fi; }
OPT=/opt/chargepoint
VENV=$OPT/venv
ETC=/etc/chargepoint
STATE=/var/lib/chargepoint
RELEASES=$STATE/releases
UNIT=/etc/systemd/system/chargepoint.service
BIN_LINK=/usr/local/bin/chargepoint
COMPLETION=/etc/bash_completion.d/chargepoint

say() { if [ "$DRY" = 1 ]; then echo "install.sh (dry run): $*"; else echo "install.sh: $*"; fi; }
# run: a file-system step inside ROOT.  sys: a step that changes the running system.
run() {
    if [ "$DRY" = 1 ]; then echo "would run: $*"; return 0; fi
    echo "+ $*"; "$@"
}
sys() {
    if [ "$LIVE" = 0 ]; then echo "skipped (--root): $*"; return 0; fi
    run "$@"
}

if [ "$LIVE" = 1 ] && [ "$DRY" = 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo), or use --dry-run / --root DIR" >&2; exit 1
fi

install_packages() {
    # python3-lgpio: gpiozero's pin backend on Bookworm (seen through --system-site-packages);
    # python3-spidev: hardware SPI for the pilot's MCP3008 (without it gpiozero bit-bangs SPI,
    # ten times slower per sample, and `chargepoint selftest` fails the island);
    # libsystemd-dev, gcc, pkg-config: to build systemd-python (sd_notify, journald).
    local pkgs=(python3 python3-venv python3-dev python3-lgpio python3-spidev gcc pkg-config
                libsystemd-dev libusb-1.0-0)
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    if [ "$LIVE" = 0 ]; then
        sys apt-get install -y "${pkgs[@]}"
    elif [ ${#missing[@]} -gt 0 ]; then
        sys apt-get update -q
        sys env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    else
        say "apt packages present"
    fi
}

create_user() {
    for g in "${GROUPS_NEEDED[@]}"; do
        if [ "$LIVE" = 0 ] || ! getent group "$g" >/dev/null; then
            sys groupadd --system -f "$g"
        fi
    done
    if [ "$LIVE" = 0 ] || ! getent passwd "$USER_NAME" >/dev/null; then
        sys useradd --system --user-group --home-dir "$STATE" --no-create-home \
            --shell /usr/sbin/nologin --comment "chargepoint controller" "$USER_NAME"
    fi
    sys usermod -a -G "$(IFS=,; echo "${GROUPS_NEEDED[*]}")" "$USER_NAME"
    for g in "${CLI_GROUPS[@]}"; do
        if [ "$LIVE" = 0 ] || ! getent group "$g" >/dev/null; then
            sys groupadd --system -f "$g"
        fi
    done
    say "CLI users: usermod -a -G chargepoint-ops USER (read), plus chargepoint-tech (technician)"
}

install_program() {
    run mkdir -p "$(P $OPT)" "$(P /usr/local/bin)" "$(P /etc/systemd/system)" \
        "$(P /etc/bash_completion.d)"
    if [ "$SKIP_VENV" = 1 ]; then
        say "--skip-venv: leaving $(P $VENV) as it is"
    else
        if [ ! -x "$(P $VENV)/bin/python" ]; then
            run python3 -m venv --system-site-packages "$(P $VENV)"
        fi
        run "$(P $VENV)/bin/python" -m pip install -q --upgrade pip
        run "$(P $VENV)/bin/python" -m pip install -q --upgrade "$SOURCE[systemd]"
    fi
    run rm -rf "$(P $OPT)/docs"
    run cp -r "$SOURCE/docs" "$(P $OPT)/docs"
    run install -m 0644 "$SOURCE/deploy/chargepoint.service" "$(P $UNIT)"
    # root's `chargepoint` is the root-owned venv, not releases/current (service-writable).
    run ln -sfn "$VENV/bin/chargepoint" "$(P $BIN_LINK)"
    check_cli_is_root_owned
    if [ -x "$(P $VENV)/bin/chargepoint" ] && [ "$DRY" = 0 ]; then
        echo "+ chargepoint completion bash > $(P $COMPLETION)"
        "$(P $VENV)/bin/chargepoint" completion bash > "$(P $COMPLETION)"
    else
        echo "would write: $(P $COMPLETION) (chargepoint completion bash)"
    fi
}

# The command root runs must be code only root can change: $VENV and the directories above it
# owned by root and writable by nobody else. Otherwise the link is removed and the install fails.
check_cli_is_root_owned() {
    if [ "$DRY" = 1 ]; then
        echo "would check: $(P $VENV) and the directories above it are root-owned, not group/other-writable"
        return 0
    fi
    local bad="" dir
    bad=$(find "$(P $VENV)" ! -type l \( ! -uid 0 -o -perm /002 -o \( -perm /020 ! -gid 0 \) \) \
        -print -quit 2>/dev/null || true)
    dir="$VENV"
    while [ -z "$bad" ] && [ "$dir" != "/" ]; do
        dir=$(dirname "$dir")
        if [ "$(stat -c %u "$(P "$dir")")" != 0 ] || \
           [ -n "$(find "$(P "$dir")" -maxdepth 0 \( -perm /002 -o \( -perm /020 ! -gid 0 \) \) \
                   ! -perm -1000)" ]; then
            bad="$(P "$dir")"
        fi
    done
    if [ ! -e "$(P $VENV)/bin/chargepoint" ]; then bad="$(P $VENV)/bin/chargepoint (missing)"; fi
    if [ -n "$bad" ]; then
        rm -f "$(P $BIN_LINK)"
        echo "install.sh: $bad is not root-owned or is writable by others: root would run" \
             "code others can change; removed $(P $BIN_LINK). Fix the owner/mode and run again." >&2
        exit 1
    fi
    say "$(P $BIN_LINK) -> $VENV/bin/chargepoint (root-owned, not writable by the service)"
}

install_config() {
    run mkdir -p "$(P $ETC)" "$(P $STATE)"
    run chmod 0750 "$(P $ETC)"
    run chmod 0700 "$(P $STATE)"
    if [ -e "$(P $ETC)/chargepoint.toml" ]; then
        say "keeping the existing $(P $ETC)/chargepoint.toml"
    else
        run install -m 0640 "$SOURCE/deploy/chargepoint.toml.example" \
            "$(P $ETC)/chargepoint.toml"
        say "edit $(P $ETC)/chargepoint.toml, then: chargepoint config check"
    fi
    # The config (it may hold the AuthorizationKey) and key files: root writes, the service
    # reads through its private group, nobody else.
    run chmod -R o-rwx "$(P $ETC)"
    sys chown -R "root:$USER_NAME" "$(P $ETC)"
    # Only the state directory itself: never walk, as root, a tree the service can write.
    sys chown "$USER_NAME:$USER_NAME" "$(P $STATE)"
}

install_release_slot() {
    # The installed venv becomes the release slot <version>, and `current` points to it: the
    # unit starts releases/current, which firmware updates switch (docs/firmware.md).
    local version
    version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$SOURCE/chargepoint/__init__.py")
    [ -n "$version" ] || { echo "install.sh: cannot read the version" >&2; exit 1; }
    run mkdir -p "$(P $RELEASES)"
    run ln -sfn "$VENV" "$(P $RELEASES)/$version"
    run ln -sfn "$version" "$(P $RELEASES)/current.new"
    run mv -T "$(P $RELEASES)/current.new" "$(P $RELEASES)/current"
    run install -m 0644 "$SOURCE/chargepoint/firmware/guard.py" "$(P $RELEASES)/boot-guard.py"
    # What this script created there, not the slots the service wrote (-h: links themselves).
    sys chown -h "$USER_NAME:$USER_NAME" "$(P $RELEASES)" "$(P $RELEASES)/$version" \
        "$(P $RELEASES)/current" "$(P $RELEASES)/boot-guard.py"
}

start_service() {
    sys systemctl daemon-reload
    sys systemctl enable chargepoint.service
    if [ "$LIVE" = 1 ] && systemctl is-active --quiet chargepoint.service; then
        say "the service is running the previous version; restart it when no car charges:"
        say "  sudo systemctl restart chargepoint"
    else
        sys systemctl start chargepoint.service
    fi
}

uninstall() {
    if [ "$LIVE" = 0 ] || systemctl list-unit-files chargepoint.service >/dev/null 2>&1; then
        sys systemctl disable --now chargepoint.service
    fi
    run rm -f "$(P $UNIT)" "$(P $BIN_LINK)" "$(P $COMPLETION)"
    sys systemctl daemon-reload
    run rm -rf "$(P $OPT)" "$(P $RELEASES)"  # the program and its release slots, not state
    if [ "$PURGE" = 1 ]; then
        run rm -rf "$(P $ETC)" "$(P $STATE)"
        if [ "$LIVE" = 0 ] || getent passwd "$USER_NAME" >/dev/null; then
            sys userdel "$USER_NAME"
        fi
        for g in "${CLI_GROUPS[@]}"; do
            if [ "$LIVE" = 0 ] || getent group "$g" >/dev/null; then
                sys groupdel "$g"
            fi
        done
        say "purged configuration, state and the $USER_NAME user"
    else
        say "kept $(P $ETC) and $(P $STATE) (add --purge to remove them)"
    fi
}

if [ "$UNINSTALL" = 1 ]; then
    uninstall
else
    install_packages
    create_user
    install_program
    install_config
    install_release_slot
    start_service
    say "done. Try: chargepoint status"
fi
