#!/bin/sh
# Installs (npm ci, the first time) and starts the oidc-provider peer: the real OpenID
# provider and its API, on 127.0.0.1:8080 and :8081 unless ISSUER_PORT / API_PORT say
# otherwise (0: any free port), which are the addresses of SPEC.md's `targets` example.
# Prints one JSON line with the URLs; stops on Ctrl-C. Run it from anywhere:
#   sh peers/oidc-provider/start.sh
set -e
dir=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$dir/node_modules/oidc-provider" ]; then
  npm ci --prefix "$dir" --no-audit --no-fund >&2
fi
ISSUER_PORT=${ISSUER_PORT:-8080} API_PORT=${API_PORT:-8081} exec node "$dir/provider.mjs" "$@"
