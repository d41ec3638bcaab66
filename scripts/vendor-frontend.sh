#!/usr/bin/env bash
# Vendor the two front-end libraries the dashboard uses (Apache ECharts, htmx) from npm into the
# package, so pages work offline and no page ever loads a script from a CDN.
# Swagger UI is vendored too: FastAPI's /api/docs would otherwise load it from a CDN.
# axe-core is vendored for the browser tests only (they inject it to check accessibility); no page loads it.
# Usage: scripts/vendor-frontend.sh [ECHARTS_VERSION] [HTMX_VERSION] [SWAGGER_UI_VERSION] [AXE_CORE_VERSION]
set -euo pipefail

ECHARTS_VERSION="${1:-5.6.0}"
HTMX_VERSION="${2:-2.0.11}"
SWAGGER_VERSION="${3:-5.35.0}"
AXE_VERSION="${4:-4.14.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/src/cxloop/web/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null || { echo "npm is needed to vendor the front-end libraries" >&2; exit 1; }
mkdir -p "$DEST"
cd "$WORK"
# npm pack downloads the published tarball only (no dependency tree, no install scripts run).
npm pack --silent "echarts@$ECHARTS_VERSION" "htmx.org@$HTMX_VERSION" "swagger-ui-dist@$SWAGGER_VERSION" \
  "axe-core@$AXE_VERSION" >/dev/null
mkdir echarts htmx swagger axe
tar -xzf "echarts-$ECHARTS_VERSION.tgz" -C echarts --strip-components=1
tar -xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx --strip-components=1
tar -xzf "swagger-ui-dist-$SWAGGER_VERSION.tgz" -C swagger --strip-components=1
tar -xzf "axe-core-$AXE_VERSION.tgz" -C axe --strip-components=1

cp echarts/dist/echarts.min.js "$DEST/echarts.min.js"
cp echarts/LICENSE "$DEST/LICENSE-echarts.txt"
[ -f echarts/NOTICE ] && cp echarts/NOTICE "$DEST/NOTICE-echarts.txt"
cp htmx/dist/htmx.min.js "$DEST/htmx.min.js"
cp htmx/LICENSE "$DEST/LICENSE-htmx.txt"
mkdir -p "$DEST/swagger-ui"
cp swagger/swagger-ui-bundle.js swagger/swagger-ui.css "$DEST/swagger-ui/"
cp swagger/LICENSE "$DEST/swagger-ui/LICENSE.txt"
[ -f swagger/NOTICE ] && cp swagger/NOTICE "$DEST/swagger-ui/NOTICE.txt"
mkdir -p "$DEST/axe-core"
cp axe/axe.min.js axe/LICENSE axe/LICENSE-3RD-PARTY.txt "$DEST/axe-core/"

cat > "$DEST/README.md" <<MD
# Vendored front-end libraries

Copied from the npm registry by \`scripts/vendor-frontend.sh\`; do not edit by hand.
Re-run the script (optionally with other versions) to upgrade, then commit the result.

| file | npm package | version | licence |
| --- | --- | --- | --- |
| echarts.min.js | echarts | $ECHARTS_VERSION | Apache-2.0 (LICENSE-echarts.txt, NOTICE-echarts.txt) |
| htmx.min.js | htmx.org | $HTMX_VERSION | 0BSD (LICENSE-htmx.txt) |
| swagger-ui/swagger-ui-bundle.js, swagger-ui.css | swagger-ui-dist | $SWAGGER_VERSION | Apache-2.0 (swagger-ui/LICENSE.txt) |
| axe-core/axe.min.js (browser tests only) | axe-core | $AXE_VERSION | MPL-2.0 (axe-core/LICENSE, LICENSE-3RD-PARTY.txt) |

sha256:

\`\`\`
$(cd "$DEST" && sha256sum echarts.min.js htmx.min.js swagger-ui/swagger-ui-bundle.js swagger-ui/swagger-ui.css axe-core/axe.min.js)
\`\`\`
MD
echo "vendored echarts $ECHARTS_VERSION, htmx.org $HTMX_VERSION, swagger-ui-dist $SWAGGER_VERSION, axe-core $AXE_VERSION into $DEST"
