#!/usr/bin/env bash
# Install the Debian packages lightnb's tests and benchmarks use, when missing.
set -euo pipefail
need=()
if [ "${1:-}" = "venv" ]; then
  # Debian's python3 lacks ensurepip until python3-venv is installed.
  need+=(python3-venv)
else
# PostgreSQL server binaries (initdb, pg_ctl) for lightnb's private cluster, contrib for citext.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
compgen -G "/usr/share/postgresql/*/extension/citext.control" >/dev/null || need+=(postgresql-contrib)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v sqldiff >/dev/null 2>&1 || need+=(sqlite3-tools)  # sqldiff, the row-diff benchmark's baseline
[ -x /usr/bin/time ] || need+=(time)  # GNU time: each benchmarked process's own peak memory
# shells whose parsers check `lightnb completions SHELL` (PowerShell is not packaged by Debian: skipped)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
command -v elvish >/dev/null 2>&1 || need+=(elvish)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "Installing Debian packages: ${need[*]}"
if [[ " ${need[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  # lightnb starts private clusters of its own: Debian's system cluster is neither created nor started.
  $SUDO mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${need[@]}" >/dev/null
