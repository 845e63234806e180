#!/usr/bin/env bash
# Builds QEMU TCG plugins for `make bench` from Debian's `qemu` source package (the
# version of the installed qemu-system-x86; Debian ships no plugins), cached in
# .deps/qemu-plugins/:
#   libinsn.so      tests/plugin/insn.c: counts guest instructions (inline=on: one add
#                   per instruction, exact); the count is printed at exit (-d plugin)
#   libinsn_snap.so scripts/bench/insn_snap.c (ours, same API): insn.c's count, reported
#                   on demand (see the file), so one run measures several workloads
#   libhotblocks.so contrib/plugins/hotblocks.c: translation blocks (pc, translations,
#                   instructions, executions), printed at exit; built with its report
#                   limit raised from 20 to every block (it sorts by executions, not by
#                   instructions executed: the caller re-sorts)
# Uses a private apt state of its own (.deps/qemu-plugins/apt/): deb-src twins of the
# machine's own "deb" entries (the installed qemu's suite; deps.sh's .deps/apt holds
# only the lwIP suite's sources). The system's apt configuration is not touched.
# Needs libglib2.0-dev. Prints the plugin directory on success.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/.deps/qemu-plugins
A=$OUT/apt
die() { printf 'qemu-plugins: ERROR: %s\n' "$*" >&2; exit 1; }

bin_ver=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null) || die "qemu-system-x86 not installed"
src_ver=${bin_ver%+b[0-9]*}         # a binNMU (+bN) is built from the same source
key="qemu $src_ver insn insn_snap hotblocks-all v3 $(sha256sum "$ROOT/scripts/bench/insn_snap.c" | cut -c1-12)"
if [[ -f $OUT/stamp && $(<"$OUT/stamp") == "$key" && -f $OUT/libinsn.so && -f $OUT/libinsn_snap.so && -f $OUT/libhotblocks.so ]]; then
    echo "$OUT"; exit 0
fi
pkg-config --exists glib-2.0 || die "glib-2.0 development files missing (apt-get install libglib2.0-dev)"
# deb-src twins of every enabled "deb" entry of the machine (one-line and deb822 forms)
mkdir -p "$A/sources.list.d" "$A/lists/partial" "$A/cache/archives/partial"
: >"$A/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$A/sources.list"
done
rm -f "$A/sources.list.d/"*
for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && sed -E 's/^(Types:).*/\1 deb-src/I' "$f" >"$A/sources.list.d/$(basename "$f")"
done
[[ -s $A/sources.list ]] || compgen -G "$A/sources.list.d/*.sources" >/dev/null \
    || die "no Debian 'deb' entry in /etc/apt/sources.list{,.d/*} to derive a deb-src entry from"
opts=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts="$A/sources.list.d"
      -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache"
      -o Dir::Cache::pkgcache="$A/cache/pkgcache.bin" -o Dir::Cache::srcpkgcache="$A/cache/srcpkgcache.bin")
(( EUID == 0 )) && opts+=(-o APT::Sandbox::User=root)
mkdir -p "$OUT/src"
if ! compgen -G "$OUT/src/qemu_*.orig.tar.*" >/dev/null; then
    apt-get "${opts[@]}" update >"$OUT/update.log" 2>&1 || die "apt-get update failed (see $OUT/update.log)"
    (cd "$OUT/src" && apt-get "${opts[@]}" source --download-only "qemu=$src_ver") >"$OUT/source.log" 2>&1 \
        || die "apt-get source qemu=$src_ver failed (see $OUT/source.log)"
fi
dsc=$(compgen -G "$OUT/src/qemu_*.dsc" | head -n1) || die "no qemu .dsc"
# every file the .dsc lists must match its SHA-256
awk '/^Checksums-Sha256:/{on=1;next} on&&/^ /{print $1, $3; next} on{on=0}' "$dsc" |
while read -r sum name; do
    [[ $(sha256sum "$OUT/src/$name" | cut -d' ' -f1) == "$sum" ]] || die "sha256 mismatch: $name"
done
orig=$(compgen -G "$OUT/src/qemu_*.orig.tar.*" | head -n1)
tmp=$OUT/tree; rm -rf "$tmp"; mkdir -p "$tmp"
tar -xf "$orig" -C "$tmp" --strip-components=1 --wildcards \
    '*/include/qemu/qemu-plugin.h' '*/tests/plugin/insn.c' '*/contrib/plugins/hotblocks.c'
hb=$tmp/contrib/plugins/hotblocks.c
grep -q '^static guint64 limit = 20;' "$hb" || die "hotblocks.c: report limit line not found"
sed -i 's/^static guint64 limit = 20;/static guint64 limit = 1000000;/' "$hb"
cflags=(-shared -fPIC -O2 -Wall -I"$tmp/include/qemu" $(pkg-config --cflags glib-2.0))
gcc "${cflags[@]}" -o "$OUT/libinsn.so" "$tmp/tests/plugin/insn.c" $(pkg-config --libs glib-2.0)
gcc "${cflags[@]}" -Werror -Wextra -o "$OUT/libinsn_snap.so" "$ROOT/scripts/bench/insn_snap.c" -lpthread
gcc "${cflags[@]}" -o "$OUT/libhotblocks.so" "$tmp/contrib/plugins/hotblocks.c" $(pkg-config --libs glib-2.0)
printf '%s\n' "$key" >"$OUT/stamp"
echo "$OUT"
