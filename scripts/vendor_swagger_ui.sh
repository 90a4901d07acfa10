#!/usr/bin/env bash
# Refresh the vendored Swagger UI served at /docs: `scripts/vendor_swagger_ui.sh [VERSION]`.
# Takes the files from the npm package swagger-ui-dist (npm pack), unchanged, with its licence.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:-5}
DEST=src/authsvc/web/static/swagger-ui
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
    cp "$TMP/package/$file" "$DEST/$file"
done
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$TMP/package/package.json")
sed -i "s/swagger-ui-dist\` [0-9.]*/swagger-ui-dist\` $got/" "$DEST/README.md"
echo "Swagger UI $got vendored into $DEST"
