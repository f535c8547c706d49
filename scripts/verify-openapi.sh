#!/usr/bin/env bash
# Re-downloads nmbrs-rest-api 0.0.3 from PyPI and checks that docs/nmbrs-openapi.yaml is its
# nmbrs_rest/_spec/nmbrs-openapi.yaml, byte for byte (docs/nmbrs-openapi.NOTICE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
pip download --quiet --no-deps -d "$tmp" nmbrs-rest-api==0.0.3
echo "cff44cc3327a9fcd13ee2908303ec54d25639e2e1e12de027dd67f02d4aa8c7e  $tmp/nmbrs_rest_api-0.0.3-py3-none-any.whl" | sha256sum -c -
python3 -c "import sys,zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read('nmbrs_rest/_spec/nmbrs-openapi.yaml'))" \
  "$tmp/nmbrs_rest_api-0.0.3-py3-none-any.whl" > "$tmp/spec.yaml"
cmp "$tmp/spec.yaml" docs/nmbrs-openapi.yaml
echo "5b02feb7d189034a8b3d4c5c8bf706e815edacc109251e004811910d27627ba1  docs/nmbrs-openapi.yaml" | sha256sum -c -
echo "docs/nmbrs-openapi.yaml is the vendor description shipped in nmbrs-rest-api 0.0.3"
