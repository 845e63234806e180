#!/usr/bin/env bash
# Build hygiene, QEMU-free (make build-test; part of make test). In a copy of the tracked
# tree under a temporary directory:
#   1. without .deps, `make` would set up first, and a direct object/ELF target stops with
#      one clear line and compiles nothing (no object built against the host's glibc);
#   2. with the real .deps, an object builds and a second make leaves it alone;
#   3. when deps.sh's newlib stamp changes (another newlib), the object is rebuilt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$(mktemp -d /tmp/uk-hygiene.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "build-test: FAIL: $*" >&2; exit 1; }

cd "$ROOT"
git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$TMP"
cd "$TMP"
OBJ=build/obj/kernel/main.c.o

# 1. no dependencies
make -n all >out 2>&1 || true
grep -q 'bash scripts/deps.sh' out || fail "'make' on a fresh tree does not run deps"
if make --no-print-directory build/unikernel.elf >out 2>&1; then fail "ELF built without .deps"; fi
grep -q "newlib/lwIP are not set up in .deps/: run 'make deps'" out \
    || fail "no clear line without .deps: $(cat out)"
[[ $(grep -c . out) -le 2 ]] || fail "more than the one line (and make's own): $(cat out)"
[[ -z $(find build -name '*.o' 2>/dev/null) ]] || fail "objects compiled without .deps"

# 2. with the dependencies (links into the real .deps; nothing there is written)
[[ -f $ROOT/.deps/stamp-newlib ]] || fail "run 'make deps' in $ROOT first"
mkdir .deps
for f in "$ROOT"/.deps/*; do ln -s "$f" .deps/; done
make --no-print-directory "$OBJ" >out 2>&1 || fail "object does not build: $(cat out)"
grep -q 'CC      kernel/main.c' out || fail "object not compiled: $(cat out)"
make --no-print-directory "$OBJ" >out 2>&1
! grep -q 'CC ' out || fail "unchanged deps rebuilt the object: $(cat out)"

# 3. another newlib: every object depends on the stamp's content
rm .deps/stamp-newlib
{ cat "$ROOT/.deps/stamp-newlib"; echo "rebuilt"; } > .deps/stamp-newlib
make --no-print-directory "$OBJ" >out 2>&1 || fail "rebuild failed: $(cat out)"
grep -q 'CC      kernel/main.c' out || fail "new newlib stamp did not rebuild the object"
echo "build-test: passed (fresh tree stops cleanly, objects follow the deps stamps)"
