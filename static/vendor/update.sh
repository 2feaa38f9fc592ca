#!/usr/bin/env bash
# Fetch the pinned htmx build and its WebSocket extension from the npm registry.
# The version is part of every file name, so templates say exactly what they load.
set -euo pipefail
HTMX_VERSION=4.0.1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@${HTMX_VERSION}" >/dev/null && tar xzf "htmx.org-${HTMX_VERSION}.tgz")
cp "$tmp/package/dist/htmx.min.js" "$here/htmx-${HTMX_VERSION}.min.js"
cp "$tmp/package/dist/ext/hx-ws.min.js" "$here/hx-ws-${HTMX_VERSION}.min.js"
cp "$tmp/package/LICENSE" "$here/htmx-LICENSE.txt"
echo "vendored htmx ${HTMX_VERSION} into ${here}"
