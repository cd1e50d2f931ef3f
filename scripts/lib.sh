# Shell helpers scripts/test and scripts/dist share; sourced, not run.

step() { printf '==> %s\n' "$*" >&2; }

# die MESSAGE [HINT]: the error, what to do about it, exit 1.
die() {
  printf 'scripts/%s: error: %s\n' "${0##*/}" "$1" >&2
  [ $# -gt 1 ] && printf '  hint: %s\n' "$2" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo -n "$@"
  else return 1
  fi
}

apt_install() {
  step "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >&2 &&
    as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}
