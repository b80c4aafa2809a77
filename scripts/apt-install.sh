# Sourced by the ensure-* scripts: `apt_install WHO PACKAGE…` installs Debian packages as root,
# or through a sudo that needs no password (make test never stops to ask); otherwise it says
# what to install by hand and fails.
apt_install() {
  local who=$1
  shift
  local sudo=""
  if ! command -v apt-get >/dev/null; then
    echo "$who: $* missing and there is no apt-get to install them; install them by hand" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    if ! sudo -n true 2>/dev/null; then
      echo "$who: $* missing and installing them needs root: sudo apt-get install $*" >&2
      return 1
    fi
    sudo="sudo -n"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
