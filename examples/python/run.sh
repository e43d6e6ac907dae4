#!/usr/bin/env bash
# Runs refresh_client.py (requests-oauthlib, unchanged) against `tokenstorm serve` on
# loopback: installs the library in a throwaway virtual environment, starts the
# servers, runs the client, stops the servers. Exit code: the client's.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${TOKENSTORM:-target/release/tokenstorm}
issuer_port=${ISSUER_PORT:-38080}
api_port=${API_PORT:-38081}
venv=$(mktemp -d)
log=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$venv" "$log"' EXIT

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check requests-oauthlib

"$bin" serve examples/python/short-tokens.yaml \
  --issuer-port "$issuer_port" --resource-port "$api_port" -v >"$log" 2>&1 &
pid=$!
for _ in $(seq 50); do
  grep -q "Ctrl-C stops" "$log" && break
  sleep 0.1
done
ISSUER="http://127.0.0.1:$issuer_port" API="http://127.0.0.1:$api_port" \
  "$venv/bin/python" examples/python/refresh_client.py
