#!/usr/bin/env bash
# Installs edgecam as a systemd service on this machine (a Raspberry Pi or any Debian 12):
# bundles main.ts into one JS file, copies it with the Deno binary and the page to /opt/edgecam,
# keeps an existing /etc/edgecam/config.toml, and starts the unit. Safe to run again to upgrade.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

"$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
"$ROOT/.tools/node_modules/.bin/deno" task --quiet bundle

id edgecam >/dev/null 2>&1 || $SUDO useradd --system --no-create-home --shell /usr/sbin/nologin edgecam
$SUDO install -d -m 755 /opt/edgecam/bin /opt/edgecam/dist /opt/edgecam/static /etc/edgecam
$SUDO install -m 755 "$(readlink -f "$ROOT/.tools/node_modules/.bin/deno")" /opt/edgecam/bin/deno
$SUDO install -m 644 "$ROOT/dist/edgecam.js" /opt/edgecam/dist/edgecam.js
$SUDO cp -r "$ROOT/static/." /opt/edgecam/static/
# 640 and group edgecam: the config may hold Bearer tokens, which other local users must not read.
[ -f /etc/edgecam/config.toml ] || $SUDO install -m 640 -g edgecam "$ROOT/config.toml" /etc/edgecam/config.toml
$SUDO install -m 644 "$ROOT/scripts/edgecam.service" /etc/systemd/system/edgecam.service
$SUDO systemctl daemon-reload
$SUDO systemctl enable --now edgecam
$SUDO systemctl restart edgecam
echo "edgecam installed: journalctl -u edgecam -f; config in /etc/edgecam/config.toml"
