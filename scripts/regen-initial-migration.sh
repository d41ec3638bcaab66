#!/usr/bin/env bash
# Before the first release the schema lives in one initial migration, regenerated from the models.
# After a release, add new revisions with `.venv/bin/alembic revision --autogenerate -m "..."` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f src/cxloop/migrations/versions/0001_initial_schema.py
CXLOOP_DATA_DIR="$tmp" CXLOOP_DATABASE_URL= .venv/bin/alembic revision --autogenerate -m "initial schema" --rev-id 0001 >/dev/null
rm -rf "$tmp"
echo "regenerated src/cxloop/migrations/versions/0001_initial_schema.py"
