#!/usr/bin/env bash
# Runs every check and test: installs what is missing (Chromium too), then fmt, lint, type check, tests.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh" --test || exit 1
cd "$ROOT"
export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
# Plain output: the summary line below is parsed, and CI logs stay readable.
export NO_COLOR=1

step() { printf '\n== %s\n' "$*"; }
step "deno task check (fmt, lint, type check)"
deno task check || exit 1

step "deno task package (both targets: the package, install, deploy and arm64 tests run them)"
deno task --quiet package || exit 1

step "deno task test"
mkdir -p test-output
# deno.json's test task runs with -A: playwright-core reads /proc files that Deno grants only to
# --allow-all. The service under test still runs with the start task's named permissions (tests/helpers).
deno task test 2>&1 | tee test-output/test.log
status=${PIPESTATUS[0]}

# The plain closing line CI reads, from deno's own summary.
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' test-output/test.log | tail -n1)
passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")
if [ -z "$summary" ]; then
  echo "no test summary found"
  exit 1
fi
echo "${passed} passed, ${failed} failed"
exit "$status"
