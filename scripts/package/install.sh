#!/bin/sh
# Installs this edgecam package. Run as root on the target (a Raspberry Pi, any Debian 12):
#   ./install.sh                  install or upgrade: /opt/edgecam/<version>, the `current` link switched to it,
#                                 the previous version kept as `previous`, the unit enabled and restarted
#   ./install.sh --rollback       switch `current` back to `previous` and restart
# Options for a staged or test install:
#   --prefix DIR    everything below DIR (DIR/opt/edgecam, DIR/etc/edgecam, DIR/var/lib/edgecam); no user made
#   --no-systemd    no unit: the service is (re)started in the background with a pid file in the state folder
#   --no-apt        do not install missing GStreamer packages
# Safe to run twice: what is already there is kept (an existing config.toml always is).
set -eu

HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P)
VERSION=$(cat "$HERE/VERSION")
PREFIX=""
SYSTEMD=1
APT=1
ROLLBACK=0

say() { printf 'edgecam install: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a folder"; PREFIX=$(mkdir -p "$2" && cd "$2" && pwd -P); shift ;;
    --no-systemd) SYSTEMD=0 ;;
    --no-apt) APT=0 ;;
    --rollback) ROLLBACK=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

[ -n "$PREFIX" ] || [ "$(id -u)" -eq 0 ] || die "run as root (sudo ./install.sh), or with --prefix DIR"
OPT="$PREFIX/opt/edgecam"
ETC="$PREFIX/etc/edgecam"
STATE="$PREFIX/var/lib/edgecam"
UNIT=/etc/systemd/system/edgecam.service

# Packages that may be missing; the libcamera plugin exists on Raspberry Pi OS only.
apt_install() {
  missing=""
  for pkg in gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
    gstreamer1.0-plugins-ugly gstreamer1.0-libcamera libssl3; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" && continue
    apt-cache show "$pkg" >/dev/null 2>&1 || continue
    missing="$missing $pkg"
  done
  [ -n "$missing" ] || return 0
  say "installing from apt:$missing"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Starts (or restarts) the version `current` points to.
restart() {
  if [ "$SYSTEMD" -eq 1 ]; then
    systemctl restart edgecam
    return
  fi
  pidfile="$STATE/edgecam.pid"
  if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
    i=0
    while kill -0 "$(cat "$pidfile")" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  fi
  # The unit's working folder and config, without systemd: recordings land in the state folder.
  (
    cd "$STATE"
    EDGECAM_ETC="$ETC" nohup "$OPT/current/edgecam" --config "$ETC/config.toml" \
      >>"$STATE/edgecam.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  )
  say "started in the background (pid $(cat "$pidfile"), log $STATE/edgecam.log)"
}

# Points `current` at a version folder in one step (a rename), so a restart never sees a half-made link.
switch_current() {
  ln -sfn "$1" "$OPT/current.new"
  mv -T "$OPT/current.new" "$OPT/current"
}

if [ "$ROLLBACK" -eq 1 ]; then
  previous=$(readlink "$OPT/previous" 2>/dev/null) || die "no previous version in $OPT to roll back to"
  current=$(readlink "$OPT/current")
  switch_current "$previous"
  ln -sfn "$current" "$OPT/previous"
  say "rolled back from $current to $previous"
  restart
  exit 0
fi

(cd "$HERE" && sha256sum --quiet -c SHA256SUMS) || die "SHA256SUMS does not match: the package is damaged"
[ "$APT" -eq 0 ] || ! command -v apt-get >/dev/null 2>&1 || apt_install

if [ -z "$PREFIX" ]; then
  # A system user of its own, in the video group for /dev/video*, /dev/media* and the Pi's camera stack.
  id edgecam >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/edgecam --no-create-home \
    --shell /usr/sbin/nologin edgecam
  getent group video >/dev/null && usermod -a -G video edgecam
fi

mkdir -p "$OPT" "$ETC" "$STATE"
if [ "$(cat "$OPT/$VERSION/SHA256SUMS" 2>/dev/null)" != "$(cat "$HERE/SHA256SUMS")" ]; then
  rm -rf "$OPT/$VERSION.new"
  cp -a "$HERE" "$OPT/$VERSION.new"
  rm -rf "$OPT/$VERSION"
  mv "$OPT/$VERSION.new" "$OPT/$VERSION"
fi
old=$(readlink "$OPT/current" 2>/dev/null || true)
if [ "$old" != "$VERSION" ]; then
  [ -z "$old" ] || ln -sfn "$old" "$OPT/previous"
  switch_current "$VERSION"
fi

if [ ! -f "$ETC/config.toml" ]; then
  # 640 and the service's group: the config may hold Bearer tokens other local users must not read.
  if [ -z "$PREFIX" ]; then install -m 640 -g edgecam "$HERE/config.toml" "$ETC/config.toml"
  else install -m 640 "$HERE/config.toml" "$ETC/config.toml"; fi
  say "wrote $ETC/config.toml (two test-pattern cameras: edit it for yours)"
fi

if [ "$SYSTEMD" -eq 1 ]; then
  install -m 644 "$OPT/current/edgecam.service" "$UNIT"
  systemctl daemon-reload
  systemctl enable edgecam >/dev/null
fi
restart
say "edgecam $VERSION installed in $OPT/$VERSION${old:+ (previous: $old)}"
