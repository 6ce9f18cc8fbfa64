#!/usr/bin/env bash
# Build times of vippsctl on this machine (issue 8): a clean build, then incremental rebuilds
# after `touch src/main.rs` and `touch src/lib.rs`. Each wall time is compared with a bound
# measured in the same run: the CPU time the build used divided by the cores it could use (a build
# cannot finish sooner than that), so the ratio says how much of the wait was serial work or
# other load, not compilation.
#
# The clean build goes into its own CARGO_TARGET_DIR (default: a fresh directory under $TMPDIR,
# removed afterwards) so the shared target/ is never wiped.
#
# Usage: scripts/bench-build.sh [--keep] [--profile dev|release]
# Writes target/bench-build.md and prints it.
set -euo pipefail

cd "$(dirname "$0")/.."
root="$PWD"
profile=dev
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --profile) profile="$2"; shift ;;
    *) echo "usage: $0 [--keep] [--profile dev|release]" >&2; exit 2 ;;
  esac
  shift
done

dir="${BENCH_BUILD_TARGET_DIR:-${TMPDIR:-/tmp}/vippsctl-bench-build.$$}"
if [ "$(realpath -m "$dir")" = "$(realpath -m "$root/target")" ]; then
  echo "refusing to use the shared target/ for a clean build" >&2
  exit 2
fi
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$dir" "$dir.log" "$dir.time"; fi; }
trap cleanup EXIT
rm -rf "$dir"

cores=$(nproc)
jobs="${CARGO_BUILD_JOBS:-$cores}"

# Runs a cargo build into $dir; prints "wall cpu" in seconds.
build() {
  if ! /usr/bin/time -o "$dir.time" -f '%e %U %S' env CARGO_TARGET_DIR="$dir" \
      cargo build --quiet --profile "$profile" --jobs "$jobs" --bin vippsctl >/dev/null 2>"$dir.log"; then
    echo "cargo build failed:" >&2
    tail -20 "$dir.log" >&2
    exit 1
  fi
  tail -1 "$dir.time" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }'
}

row() { # name wall cpu
  awk -v n="$1" -v w="$2" -v c="$3" -v j="$jobs" 'BEGIN {
    b = c / j; if (b <= 0) b = 0.01;
    printf "| %s | %.1f s | %.1f s CPU / %d cores = %.1f s | %.2fx |\n", n, w, c, j, b, w / b }'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "clean build ($profile) into $dir ..." >&2
out=$(build); read -r clean_wall clean_cpu <<<"$out"
echo "incremental after touch src/main.rs ..." >&2
touch src/main.rs
out=$(build); read -r main_wall main_cpu <<<"$out"
echo "incremental after touch src/lib.rs ..." >&2
touch src/lib.rs
out=$(build); read -r lib_wall lib_cpu <<<"$out"
echo "no-op build ..." >&2
out=$(build); read -r noop_wall noop_cpu <<<"$out"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

report="$root/target/bench-build.md"
mkdir -p "$root/target"
{
  echo "# vippsctl build times"
  echo
  echo "Profile $profile, $cores cores, --jobs $jobs, $(rustc --version)."
  echo "Load average before: $load_before; after: $load_after (other builds share the cores)."
  echo
  echo "| build | wall | bound (CPU time / cores) | ratio |"
  echo "|---|---|---|---|"
  row "clean" "$clean_wall" "$clean_cpu"
  row "incremental, touch src/main.rs" "$main_wall" "$main_cpu"
  row "incremental, touch src/lib.rs" "$lib_wall" "$lib_cpu"
  row "no-op" "$noop_wall" "$noop_cpu"
} >"$report"
cat "$report"
