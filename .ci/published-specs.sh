#!/usr/bin/env bash
# Builds the library from the published Vipps specs instead of openapi/: the latest published
# file of each API and two earlier ones, mixed into three sets so each chosen version is built
# once. Fails naming the set when generation or compilation fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${VIPPSCTL_SHARED_DIR:-$(dirname "$repo")/shared}"
upstream="$shared/upstream-openapi"
if [[ ! -d "$upstream" ]]; then
    echo "published-specs: $upstream not found, skipping (set VIPPSCTL_SHARED_DIR to run it)"
    exit 0
fi

# set name | access-token | webhooks | qr | recurring | management | order-management | epayment
# (paths below $upstream/<api>/)
# The history versions are the earliest that still have every operation of src/specs/ops.rs at
# the paths vippsctl calls: webhooks gained the /webhooks server base on 2023-06-02, QR moved the
# callback image options to query parameters on 2023-12-08, recurring v3 agreements are complete
# from 2022-07 (paging parameters only in latest; see openapi/README.md), and management has the
# sales units of a merchant by business identifier (`/merchants/{scheme}/{id}`) only from
# 2023-09-22 (1.1.4), its one earlier version that can be built (so both history sets use it).
# Order management has DELETE /v3/categories/{categoryId} (instead of a PUT) only from 2024-08-13
# (2.1), its one earlier version with every operation (so both history sets use it).
# ePayment: the two published copies before latest (2025-08-25 with Express shipping, 2025-03-30
# without); the 2023-2024 repository versions reference the order-management Receipt over https.
sets=(
    "latest|latest.yaml|latest.yaml|latest.yaml|latest.yaml|latest.yaml|latest.yaml|latest.yaml"
    "history-2023-late|history/2023-11-08_d42e299.yaml|history/2023-09-14_ae0e00e.yaml|history/2024-02-20_4932c2d.yaml|history/2023-12-07_3f6ac6b.yaml|history/2023-09-22_5a0eeba.yaml|history/2024-08-13_1fcf14f.yaml|history/2025-08-25_bccfcb7.yaml"
    "history-2023-mid|history/2023-10-11_779ea42.yaml|history/2023-07-19_91b4931.yaml|history/2023-12-08_f8bca5d.yaml|history/2023-10-06_59d96ad.yaml|history/2023-09-22_5a0eeba.yaml|history/2024-08-13_1fcf14f.yaml|history/2025-03-30_5359c09.yaml"
)
apis=(access-token webhooks qr recurring management order-management epayment)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target/published-specs}"
tmp="$(mktemp -d /tmp/vippsctl-published-specs.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

failed=()
for set in "${sets[@]}"; do
    IFS='|' read -r name files_at files_wh files_qr files_rec files_mg files_om files_ep <<<"$set"
    files=("$files_at" "$files_wh" "$files_qr" "$files_rec" "$files_mg" "$files_om" "$files_ep")
    dir="$tmp/$name"
    mkdir -p "$dir"
    for i in "${!apis[@]}"; do
        src="$upstream/${apis[$i]}/${files[$i]}"
        if [[ ! -f "$src" ]]; then
            echo "published-specs: set $name: missing $src" >&2
            exit 1
        fi
        ln -s "$src" "$dir/${apis[$i]}.yaml"
    done
    echo "published-specs: building set $name (${files[*]})" >&2
    start=$(date +%s)
    if (cd "$repo" && VIPPSCTL_OPENAPI_DIR="$dir" cargo build --lib --quiet); then
        echo "published-specs: set $name ok ($(( $(date +%s) - start )) s)" >&2
    else
        echo "published-specs: set $name FAILED (generation or compilation, see above)" >&2
        failed+=("$name")
    fi
done

if (( ${#failed[@]} > 0 )); then
    echo "published-specs: failed sets: ${failed[*]}" >&2
    exit 1
fi
echo "published-specs: all ${#sets[@]} sets built"
