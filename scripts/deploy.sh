#!/usr/bin/env bash
# Deploys edgecam over ssh to a Raspberry Pi (or any Debian 12 machine): builds the package for the target's
# architecture, copies it with scp, runs its install.sh there as root (through sudo for another user), waits
# for /health and prints the viewer URL.
#
#   scripts/deploy.sh user@host [--arch arm64|x64] [--ssh-port 22] [-i key] [--http-port 8080] [-- install.sh options]
#
# --arch defaults to what `uname -m` says on the target. --http-port is the target's server.port. Options
# after `--` go to install.sh (e.g. `--prefix DIR --no-systemd` for a staged install). DEPLOY_SSH_OPTS adds
# options to every ssh and scp call (e.g. "-o StrictHostKeyChecking=accept-new").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf 'edgecam deploy: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

target=""
arch=""
ssh_port=22
key=""
http_port=8080
install_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="${2:?--arch needs arm64 or x64}"; shift ;;
    --ssh-port) ssh_port="${2:?--ssh-port needs a port}"; shift ;;
    -i) key="${2:?-i needs a key file}"; shift ;;
    --http-port) http_port="${2:?--http-port needs a port}"; shift ;;
    --) shift; install_args=("$@"); break ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$target" ] || die "one target only (got $target and $1)"; target="$1" ;;
  esac
  shift
done
[ -n "$target" ] || die "usage: scripts/deploy.sh user@host [--arch arm64|x64] (see --help)"
host="${target#*@}"

# shellcheck disable=SC2206
ssh_opts=(-o BatchMode=yes ${key:+-i "$key"} ${DEPLOY_SSH_OPTS:-})
remote() { ssh -p "$ssh_port" "${ssh_opts[@]}" "$target" "$@"; }

if [ -z "$arch" ]; then
  case "$(remote uname -m)" in
    aarch64|arm64) arch=arm64 ;;
    x86_64|amd64) arch=x64 ;;
    *) die "the target is $(remote uname -m): edgecam packages exist for aarch64 (64-bit Pi OS) and x86_64" ;;
  esac
fi

"$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
archive="$("$ROOT/.tools/node_modules/.bin/deno" task --quiet package --arch "$arch" | tail -n1)"
name="$(basename "$archive" .tar.gz)"
say "copying $name to $target"
dir="$(remote mktemp -d /tmp/edgecam-deploy.XXXXXX)"
# The copy goes whatever happens, a failed install included.
trap 'remote "rm -rf $dir" || true' EXIT
scp -q -P "$ssh_port" "${ssh_opts[@]}" "$archive" "$target:$dir/"
# install.sh needs root for a system install; a --prefix install is the user's own.
quoted_args=""
for arg in "${install_args[@]+"${install_args[@]}"}"; do quoted_args+=" $(printf '%q' "$arg")"; done
remote "set -e; cd $dir; tar -xzf $name.tar.gz; sudo=''; [ \"\$(id -u)\" -eq 0 ] || sudo=sudo; \
  \$sudo ./$name/install.sh$quoted_args"

say "waiting for http://$host:$http_port/health"
for _ in $(seq 1 60); do
  if curl -fsS -o /dev/null "http://$host:$http_port/health"; then
    echo "viewer: http://$host:$http_port/"
    exit 0
  fi
  sleep 1
done
die "no healthy answer from http://$host:$http_port/health after 60 s: on the target, journalctl -u edgecam"
