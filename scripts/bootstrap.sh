#!/usr/bin/env bash
# Installs whatever edgecam needs and is missing; safe to run any number of times.
#   scripts/bootstrap.sh          what the service needs: Deno, GStreamer, npm dependencies
#   scripts/bootstrap.sh --test   also what the tests need: Chromium, Python GStreamer bindings, gcc (the C
#                                 shared-memory reader), gst-discoverer-1.0 (checks the H.264 it writes),
#                                 FFmpeg's ffprobe (checks recordings) and promtool (checks /metrics)
set -euo pipefail

DENO_VERSION=2.9.6
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
DENO="$TOOLS/node_modules/.bin/deno"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

say() { printf 'edgecam setup: %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing from apt: ${missing[*]}"
  if [ "$apt_updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Packages that exist only on some distributions (libcamera on Raspberry Pi OS).
apt_install_if_available() {
  for pkg in "$@"; do
    if apt-cache show "$pkg" >/dev/null 2>&1; then apt_install "$pkg"; fi
  done
}

command -v npm >/dev/null 2>&1 || apt_install nodejs npm

apt_install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
apt_install_if_available gstreamer1.0-libcamera
# OpenSSL 3's libcrypto seals viewers' SRTP through FFI (named libssl3t64 from Debian 13 on).
apt_install_if_available libssl3

if [ "${1:-}" = "--test" ]; then
  # Debian calls the browser chromium; older Raspberry Pi OS releases call it chromium-browser.
  if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :
  elif apt-cache show chromium >/dev/null 2>&1; then apt_install chromium
  else apt_install chromium-browser
  fi
  apt_install fonts-dejavu-core python3-gst-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 \
    gir1.2-nice-0.1 gstreamer1.0-nice gstreamer1.0-libav gcc libc6-dev gstreamer1.0-plugins-base-apps ffmpeg
  # promtool (package prometheus) checks the /metrics exposition; the Prometheus server it brings is not
  # wanted, so it is switched off, but only when this script installed it.
  if ! command -v promtool >/dev/null 2>&1; then
    apt_install prometheus
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet prometheus 2>/dev/null; then
      $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
  fi
  # The package tests: systemd-analyze scores the unit; deploy.sh is tested against an sshd of the test's
  # own on loopback (the daemon the package enables is not wanted); the arm64 package runs under qemu's
  # user-mode emulation with Debian's arm64 C library and libcrypto.
  apt_install systemd openssh-client
  if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
    apt_install openssh-server
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet ssh 2>/dev/null; then
      $SUDO systemctl disable --now ssh >/dev/null 2>&1 || true
    fi
  fi
  if [ "$(dpkg --print-architecture)" = "amd64" ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || { $SUDO dpkg --add-architecture arm64; apt_updated=0; }
    apt_install qemu-user-static libc6:arm64
    # OpenSSL 3 is libssl3t64 from Debian 13 on.
    apt_install_if_available libssl3:arm64 libssl3t64:arm64
  fi
  # The STUN/TURN test runs its own coturn on loopback; the daemon the package enables is not wanted,
  # so it is switched off, but only when this script installed it.
  if ! command -v turnserver >/dev/null 2>&1; then
    apt_install coturn
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet coturn 2>/dev/null; then
      $SUDO systemctl disable --now coturn >/dev/null 2>&1 || true
    fi
  fi
fi

if [ ! -x "$DENO" ] || [ "$("$DENO" --version 2>/dev/null | head -n1 | cut -d' ' -f2)" != "$DENO_VERSION" ]; then
  say "installing Deno $DENO_VERSION from npm into .tools/"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION" >/dev/null
fi

cd "$ROOT"
"$DENO" install --frozen --quiet
