# Shared set-up for Loket's scripts: find or install what a fresh Debian machine lacks.
# Sourced, not run.

# Bold only on a terminal: a log file or a pipe gets plain text.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
else
  say() { printf '==> %s\n' "$*"; }
fi
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

# apt_ensure CMD_OR_PATH PACKAGE...: installs the packages when the first argument is missing.
APT_UPDATED=
apt_ensure() {
  local probe=$1; shift
  if [ -e "$probe" ] || command -v "$probe" >/dev/null 2>&1; then return 0; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    die "$probe is missing. Install: $* (this script knows apt-get only)"
  fi
  say "installing $* (for $probe)"
  if [ -z "$APT_UPDATED" ]; then
    as_root apt-get update -qq || die "apt-get update failed; run as root or install: $*"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "could not install $*; run: sudo apt-get install -y $*"
}

pg_bin_dir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_rust() {
  command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust from rustup (https://rustup.rs), then rerun"
}

ensure_postgres() {
  local bin; bin=$(pg_bin_dir)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    apt_ensure /usr/lib/postgresql/15/bin/initdb postgresql postgresql-contrib
    bin=$(pg_bin_dir)
  fi
  [ -x "$bin/initdb" ] || die "PostgreSQL server binaries not found; install: apt-get install postgresql postgresql-contrib"
  # btree_gist (the no-double-booking constraint) ships with the server package on Debian 12+.
  local share; share=$("$bin/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$(basename "$(dirname "$bin")")")
  if [ ! -f "$share/extension/btree_gist.control" ]; then
    apt_ensure "$share/extension/btree_gist.control" postgresql-contrib
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    die "running as root needs the 'postgres' OS user (it comes with the postgresql package)"
  fi
  export LOKET_PG_BIN="$bin"
}

ensure_browser() {
  apt_ensure chromium chromium
  apt_ensure chromedriver chromium-driver
}

# The network-namespace tests (tests/netns.rs) build their own networks with these.
ensure_netns_tools() {
  apt_ensure ip iproute2
  apt_ensure nft nftables
}

# The more-than-one-node tests (tests/cluster) run real nodes behind Debian's HAProxy.
ensure_haproxy() {
  apt_ensure haproxy haproxy
}

ensure_node() {
  apt_ensure npm nodejs npm
}
