#!/bin/sh
# mutate.sh FUNCTION IN OUT: copy IN to OUT with the full fence (mb();) in
# the body of FUNCTION turned into a compiler-only barrier(): the store-load
# reordering the fence forbids is then left to the CPU, nothing else changes.
# Fails unless exactly one fence was replaced, so a renamed function can't
# make a mutant silently identical to the original.
set -eu
fn=$1 in=$2 out=$3
awk -v fn="$fn" '
    $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ ";$" { infn = 1 }
    infn && /^}/ { infn = 0 }
    infn && /^[ \t]*mb\(\);/ { sub(/mb\(\);/, "barrier(); /* MUTANT: fence removed */"); n++ }
    { print }
    END { if (n != 1) { printf "mutate.sh: %d fences in %s, want 1\n", n, fn > "/dev/stderr"; exit 1 } }
' "$in" > "$out"
