#!/usr/bin/env bash
# Runs `swift <args...>` in <project-dir>:
#   scripts/swift-in-chroot.sh <project-dir> <swift args...>     e.g.  scripts/swift-in-chroot.sh ios test
# With a native `swift` on PATH it simply runs it there (unless AUTHCORE_SWIFT_FORCE_CHROOT=1).
# Otherwise it runs it in the Debian trixie chroot made by scripts/setup-swift.sh
# (${SWIFT_CHROOT:-${AUTHCORE_CACHE:-$HOME/.cache/authcore}/swift-chroot}, needs root):
#   - /proc, /dev and /sys are bind-mounted into the chroot (swift finds its own libraries through
#     /proc/self/exe, so /proc is not optional);
#   - the git work tree holding <project-dir> (or <project-dir> itself outside git), plus every
#     directory in SWIFT_CHROOT_BINDS (colon-separated), is bind-mounted at the same absolute path,
#     so absolute paths such as `-Xlinker -L$PWD/target/debug` mean the same inside and outside;
#   - everything runs in a private mount namespace (unshare) when possible, so the mounts are never
#     visible outside and vanish with the process even on SIGKILL; they are also unmounted by a trap
#     on exit, error, Ctrl-C and SIGTERM;
#   - the environment inside is clean except LD_LIBRARY_PATH (passed through, for the Rust cdylib a
#     test binary loads) and SWIFT_CHROOT_ENV (space-separated NAME=value pairs to add).
# The exit code is swift's.
set -euo pipefail
prog=swift-in-chroot
die() { echo "$prog: error: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: $0 <project-dir> <swift args...>"
[ -d "$1" ] || die "no such directory: $1"
project=$(cd "$1" && pwd -P)
shift

if [ "${AUTHCORE_SWIFT_FORCE_CHROOT:-0}" != 1 ] && command -v swift >/dev/null 2>&1; then
  cd "$project"
  exec swift "$@"
fi

chroot_dir=${SWIFT_CHROOT:-${AUTHCORE_CACHE:-$HOME/.cache/authcore}/swift-chroot}
[ -f "$chroot_dir/.authcore-swift-ready" ] ||
  die "no Swift chroot at $chroot_dir: run scripts/setup-swift.sh first"
[ "$(id -u)" = 0 ] || die "running swift in the chroot needs root (chroot, mount)"
chroot_dir=$(cd "$chroot_dir" && pwd -P)

# Re-run this script in a private mount namespace (same process, no fork), once.
if [ -z "${AUTHCORE_SWIFT_NS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
  export AUTHCORE_SWIFT_NS=1
  exec unshare --mount --propagation private "$0" "$project" "$@"
fi

mounted=()
child=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null ||
      echo "$prog: warning: could not unmount ${mounted[i]}" >&2
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

bind() { # bind <host-dir> <dir-in-chroot> [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2" || die "mount --bind $1 $2 failed"
  mounted+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2" 2>/dev/null || true; fi
}

mount -t proc proc "$chroot_dir/proc" || die "mounting /proc in $chroot_dir failed"
mounted+=("$chroot_dir/proc")
bind /dev "$chroot_dir/dev"
bind /sys "$chroot_dir/sys" ro

tree=$(git -C "$project" rev-parse --show-toplevel 2>/dev/null || echo "$project")
binds=("$tree")
IFS=: read -r -a extra <<<"${SWIFT_CHROOT_BINDS:-}"
for d in "${extra[@]}"; do
  [ -n "$d" ] || continue
  [ -d "$d" ] || die "SWIFT_CHROOT_BINDS: no such directory: $d"
  binds+=("$(cd "$d" && pwd -P)")
done
for d in "${binds[@]}"; do
  case "$d" in /) die "refusing to bind-mount / into the chroot" ;; esac
  bind "$d" "$chroot_dir$d"
done

env_in=(HOME=/root LANG=C.UTF-8 "TERM=${TERM:-dumb}"
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
[ -z "${LD_LIBRARY_PATH:-}" ] || env_in+=("LD_LIBRARY_PATH=$LD_LIBRARY_PATH")
# shellcheck disable=SC2206
[ -z "${SWIFT_CHROOT_ENV:-}" ] || env_in+=($SWIFT_CHROOT_ENV)

# In the background (and its own process group, so a signal reaches all of swift's processes) so the
# traps run at once on a signal; stdin passed on explicitly.
setsid chroot "$chroot_dir" /usr/bin/env -i "${env_in[@]}" /bin/sh -c 'cd "$1" && shift && exec swift "$@"' \
  sh "$project" "$@" <&0 &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=
exit "$rc"
