#!/usr/bin/env bash
# Fetch the newest published Vipps MobilePay OpenAPI specs for the APIs vippsctl uses, into a
# directory to compare against openapi/ (see docs/updating-specs.md). Needs network access.
#
#   scripts/fetch-specs.sh [OUT_DIR]        default OUT_DIR: target/published-specs
#
# Then:  vippsctl specs diff openapi/ target/published-specs/
set -euo pipefail

out="${1:-target/published-specs}"
base="${VIPPS_SPEC_BASE_URL:-https://developer.vippsmobilepay.com/redocusaurus}"
mkdir -p "$out"

# vippsctl file name -> published file name
specs=(
  "access-token:access-token-swagger-id.yaml"
  "webhooks:webhooks-swagger-id.yaml"
  "qr:qr-swagger-id.yaml"
  "recurring:recurring-swagger-id.yaml"
)

status=0
for entry in "${specs[@]}"; do
  name="${entry%%:*}"
  published="${entry#*:}"
  url="$base/$published"
  tmp="$out/.$name.yaml.part"
  if curl --fail --silent --show-error --location --max-time 60 -o "$tmp" "$url"; then
    # The docs site answers unknown paths with an HTML page; never keep that as a spec.
    if head -c 200 "$tmp" | grep -Eq '^(openapi|swagger):|"openapi"'; then
      mv "$tmp" "$out/$name.yaml"
      echo "fetched $name.yaml from $url" >&2
    else
      rm -f "$tmp"
      echo "error: $url did not return an OpenAPI document" >&2
      status=1
    fi
  else
    rm -f "$tmp"
    echo "error: could not fetch $url" >&2
    status=1
  fi
done
exit "$status"
