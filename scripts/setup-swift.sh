#!/usr/bin/env bash
# Makes a Swift toolchain available and prints `export` lines for `eval "$(scripts/setup-swift.sh)"`.
#
# - A native `swift` on PATH is used as it is (SWIFT_MODE=native).
# - Otherwise (SWIFT_MODE=chroot) a Debian trixie chroot with Debian's `swiftlang` is built once at
#   ${AUTHCORE_CACHE:-$HOME/.cache/authcore}/swift-chroot with debootstrap (needs root), from the
#   Debian mirror the host's apt uses (override: AUTHCORE_DEBIAN_MIRROR). Run swift in it with
#   scripts/swift-in-chroot.sh <project-dir> <swift args...>.
# Set AUTHCORE_SWIFT_FORCE_CHROOT=1 to build/use the chroot even when a native swift exists.
# Progress goes to stderr; stdout carries only the export lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${AUTHCORE_CACHE:-$HOME/.cache/authcore}
chroot_dir=$cache/swift-chroot
suite=trixie
# swiftlang brings swift, swiftc, SwiftPM, XCTest, Swift Testing, Foundation, its own clang/lld, and
# (as dependencies) gcc and binutils. `swift build` also needs the libc headers and crt objects
# (libc6-dev; without it: "'sys/param.h' file not found"); pkg-config is for system-library targets
# that name a pkgConfig. git is not included: only needed for packages with remote dependencies.
packages="swiftlang libc6-dev pkg-config"
stamp=$chroot_dir/.authcore-swift-ready

log() { echo "setup-swift: $*" >&2; }
die() { echo "setup-swift: error: $*" >&2; exit 1; }

if [ "${AUTHCORE_SWIFT_FORCE_CHROOT:-0}" != 1 ] && command -v swift >/dev/null 2>&1; then
  echo "export SWIFT_MODE=native"
  echo "export SWIFT_RUN=\"$root/scripts/swift-in-chroot.sh\""
  exit 0
fi

want=$(printf '%s\n' "$suite" "$packages" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  [ "$(id -u)" = 0 ] || die "building the Swift chroot needs root (debootstrap, chroot, mounts)"
  if findmnt -rn -o TARGET | grep -qF "$chroot_dir"; then
    die "something is mounted under $chroot_dir (see: findmnt | grep swift-chroot); unmount it first"
  fi

  mkdir -p "$cache"
  apt_quiet() {
    DEBIAN_FRONTEND=noninteractive apt-get -qq -o=Dpkg::Use-Pty=0 "$@" >"$cache/apt-swift-host.log" 2>&1 ||
      { cat "$cache/apt-swift-host.log" >&2; die "apt-get $* failed"; }
  }
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    apt_quiet update
    apt_quiet install -y --no-install-recommends debootstrap
  fi

  mirror=${AUTHCORE_DEBIAN_MIRROR:-}
  if [ -z "$mirror" ]; then
    # First enabled Debian archive URI (not -security) from the host's apt sources, deb822 or one-line.
    mirror=$(
      {
        for f in /etc/apt/sources.list.d/*.sources; do
          if [ -f "$f" ]; then sed -n 's/^URIs:[[:space:]]*//p' "$f" | tr ' ' '\n'; fi
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
          if [ -f "$f" ]; then awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' "$f"; fi
        done
      } | grep -E '^https?://[^ ]*/debian/?$' | grep -v -- '-security' | head -n1 || true
    )
    [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}; set AUTHCORE_DEBIAN_MIRROR"
  fi

  if [ -e "$chroot_dir" ]; then
    log "removing incomplete or outdated chroot $chroot_dir"
    rm -rf --one-file-system "$chroot_dir"
  fi
  mkdir -p "$cache"
  tmp=$chroot_dir.tmp
  rm -rf --one-file-system "$tmp"
  log "debootstrap --variant=minbase $suite from $mirror (a few minutes)"
  if ! debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$cache/swift-debootstrap.log" 2>&1; then
    tail -n 20 "$cache/swift-debootstrap.log" >&2
    die "debootstrap failed (full log: $cache/swift-debootstrap.log)"
  fi
  cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true

  log "installing $packages in the chroot"
  in_chroot() {
    chroot "$tmp" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
  }
  # swift finds its libraries via $ORIGIN, i.e. /proc/self/exe: /proc is needed to run it at all.
  mount -t proc proc "$tmp/proc"
  trap 'umount "$tmp/proc" 2>/dev/null || umount -l "$tmp/proc" 2>/dev/null || true' EXIT
  # shellcheck disable=SC2086
  if ! { in_chroot apt-get -q update && in_chroot apt-get -q -o=Dpkg::Use-Pty=0 install -y --no-install-recommends $packages && in_chroot apt-get clean; } >"$cache/swift-apt.log" 2>&1; then
    tail -n 20 "$cache/swift-apt.log" >&2
    die "apt-get in the chroot failed (full log: $cache/swift-apt.log)"
  fi
  version=$(in_chroot swift --version 2>&1) || { echo "$version" >&2; die "swift does not run in the new chroot"; }
  umount "$tmp/proc"
  trap - EXIT
  mv "$tmp" "$chroot_dir"
  echo "$want" >"$stamp"
  log "ready: $(echo "$version" | head -n1)"
fi

echo "export SWIFT_MODE=chroot"
echo "export SWIFT_CHROOT=\"$chroot_dir\""
echo "export SWIFT_RUN=\"$root/scripts/swift-in-chroot.sh\""
