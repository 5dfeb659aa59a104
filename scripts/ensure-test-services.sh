#!/usr/bin/env bash
# Brings up what `npm test` talks to, on this machine, idempotently:
# Redis on 127.0.0.1:6379 (started if nothing answers there), PostgreSQL on
# 127.0.0.1:5432 (its cluster started if it does not answer), sshd and chromium
# packages, and a single-node Slurm cluster (scripts/slurm/setup-local-cluster.sh). Expects root and Debian's apt.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "[test-services] installing redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  echo "[test-services] starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/corral-test.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# PostgreSQL, for the state tests that run on every engine (test/helpers/databases.ts): Debian's cluster 15/main, trust auth on loopback.
if ! pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "[test-services] starting PostgreSQL (pg_ctlcluster 15 main start)"
  pg_ctlcluster 15 main start || true
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 0.1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "[test-services] PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
fi

# sshd, for the tests that drive Slurm over SSH (they start their own on 127.0.0.2).
if [ ! -x /usr/sbin/sshd ]; then
  echo "[test-services] installing openssh-server"
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null 2>&1) ||
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null)
fi

# nginx, for the two-gateway deployment test (test/deploy): Debian's, run by the test in its own prefix.
if [ ! -x /usr/sbin/nginx ]; then
  echo "[test-services] installing nginx-light"
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1) ||
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null)
fi

# Chromium, for the web UI's end-to-end tests (test/ui): Debian's package, never a browser Playwright downloads.
if [ ! -x /usr/bin/chromium ]; then
  echo "[test-services] installing chromium"
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) ||
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
fi

# Installs the Debian packages given that are not installed yet (one apt-get for all of them).
install_missing() {
  local missing=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  [ -z "$missing" ] && return 0
  echo "[test-services] installing$missing"
  # shellcheck disable=SC2086
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1) ||
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null)
}

# Debian's Tesseract 5 and the DejaVu fonts, for the OCR tests (test/runtimes/ocr-*): the evaluation
# images are rendered with DejaVu, and the Tesseract command is the yardstick the engines are read against.
install_missing tesseract-ocr tesseract-ocr-eng fonts-dejavu-core fonts-dejavu-extra

# Debian's Python with scikit-learn, onnx, venv and torch, for the training tests (test/training): they run /usr/bin/python3.
install_missing python3-sklearn python3-onnx python3-venv python3-torch

bash scripts/slurm/setup-local-cluster.sh
