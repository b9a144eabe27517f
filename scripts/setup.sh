#!/usr/bin/env bash
# Installs what `manage` and its tests need on a fresh Debian machine that has Rust:
# Debian's redis-server and redis-sentinel (when missing; tests/sentinel.rs runs three
# sentinels), Chromium and its WebDriver (when /usr/bin/chromedriver is missing; the
# background-tasks page is tested in a real browser), Prometheus and promtool (tests check
# /metrics with them), zsh and fish (completion scripts are run in them), systemd's
# systemd-analyze (the units in deploy/systemd/ are verified with it), and a Python
# virtualenv with rq==2.12.0 (the interop partner in the tests) and jinja2==3.1.6 (NetBox's
# renderer, the oracle of the template tests and of scripts/gen_template_table.py), and h11
# (the HTTP/1.1 parser the receiver's framing is checked against).
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || packages+=(redis-sentinel)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || packages+=(python3-venv)
[ -x /usr/bin/chromedriver ] || packages+=(chromium chromium-driver fonts-liberation)
# promtool checks /metrics and a real Prometheus server scrapes a worker in tests/observability.rs.
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
# The completion scripts `manage completions` prints are run in these shells by tests/cli.rs.
command -v zsh >/dev/null 2>&1 || packages+=(zsh)
command -v fish >/dev/null 2>&1 || packages+=(fish)
# tests/service.rs checks the units in deploy/systemd/ with systemd-analyze verify.
command -v systemd-analyze >/dev/null 2>&1 || packages+=(systemd)
for extra in ${MANAGE_EXTRA_PACKAGES:-}; do
  dpkg -s "$extra" >/dev/null 2>&1 || packages+=("$extra")
done
if [ ${#packages[@]} -gt 0 ]; then
  echo "setup: installing ${packages[*]} from Debian's packages" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

VENV=${MANAGE_VENV:-$PWD/.venv}
if ! "$VENV/bin/python" -c 'import rq, requests, standardwebhooks, jinja2, h11; assert rq.__version__ == "2.12.0" and jinja2.__version__ == "3.1.6"' >/dev/null 2>&1; then
  echo "setup: creating the Python RQ virtualenv in $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'rq==2.12.0' 'jinja2==3.1.6' 'requests' 'standardwebhooks' 'h11==0.16.0'
fi
# The other RQ versions the interop tests run against (scripts/test.sh): NetBox 4.6's pinned
# rq 2.10.0, and rq 3.0.
for version in 2.10.0 3.0.0; do
  other="$PWD/.venv-rq$version"
  if ! "$other/bin/python" -c "import rq, requests; assert rq.__version__ == '$version'" >/dev/null 2>&1; then
    echo "setup: creating the rq $version virtualenv in $other" >&2
    python3 -m venv "$other"
    "$other/bin/pip" install -q --disable-pip-version-check "rq==$version" 'requests' 'standardwebhooks'
  fi
done
