#!/usr/bin/env bash
# GitHub's REST API description (api.github.com, OpenAPI 3.0, ~1,200 operations, 13 MB) for the
# corpus, fetched at use time rather than stored here: the copy shipped in the MIT-licensed npm
# package @octokit/openapi, pinned by version and by the file's SHA-256. Uses only `npm pack`.
#
#   usage: fetch-github-rest.sh [DEST]     (default DEST=/tmp/mcpgen-github)
#   output: DEST/github-rest-api.json
set -euo pipefail
DEST="${1:-/tmp/mcpgen-github}"
PKG="@octokit/openapi@23.0.2"
SHA=829b4bebb19a53133289f7b0bc819f4f1118115821db2ca9f25e9ee995a7da2a
mkdir -p "$DEST"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
tgz="$(npm pack "$PKG" --silent --pack-destination "$WORK" | tail -n1)"
tar -xzf "$WORK/$tgz" -C "$WORK" package/generated/api.github.com.json
mv "$WORK/package/generated/api.github.com.json" "$DEST/github-rest-api.json"
got="$(sha256sum "$DEST/github-rest-api.json" | cut -d' ' -f1)"
if [ "$got" = "$SHA" ]; then echo "ok  github-rest-api.json"
else echo "SHA MISMATCH github-rest-api.json ($got)" >&2; exit 1; fi
