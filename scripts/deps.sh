#!/usr/bin/env bash
# Idempotent dependency set-up (called by `make deps`):
#   1. Debian packages (installed with apt-get when running as root),
#   2. lwIP 2.1.3 source from Debian's source package `lwip`, fetched with a private
#      apt state under .deps/apt/ (the system apt configuration is never modified),
#   3. newlib 3.3.0 from Debian's `newlib-source`, built for x86_64-elf with the
#      machine's gcc in freestanding mode, installed flat into .deps/newlib/.
# Each finished step leaves a stamp in .deps/; a second run only re-checks the
# package list (one dpkg-query call) and the stamps.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DEPS=$ROOT/.deps
mkdir -p "$DEPS"

log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: ERROR: %s\n' "$*" >&2; exit 1; }

# Print the tail of a log file to stderr (used on failure).
show_tail() {
    local f=$1 n=${2:-40}
    if [[ -f $f ]]; then
        printf -- '----- last %s lines of %s -----\n' "$n" "${f#"$ROOT"/}" >&2
        tail -n "$n" "$f" >&2
        printf -- '-----\n' >&2
    fi
}

# Stamp helpers: a stamp holds a key describing what was produced; a different
# key (e.g. after this script changes the configuration) redoes the step.
stamp_ok() { [[ -f $DEPS/stamp-$1 ]] && [[ $(<"$DEPS/stamp-$1") == "$2" ]]; }
stamp_set() { printf '%s\n' "$2" >"$DEPS/stamp-$1"; }

# ---------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------
PACKAGES=(qemu-system-x86 qemu-utils grub-pc-bin grub-common xorriso mtools
          python3-pytest libcmocka-dev newlib-source iperf iputils-ping curl wrk
          iproute2 arping dpkg-dev gcc make binutils
          spin clang libclang-rt-14-dev)

missing_packages() {
    # One dpkg-query call; unknown packages are absent from the output (and
    # make dpkg-query exit non-zero, which is ignored).
    local installed
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null \
                | awk '$NF == "installed" && $(NF-1) == "ok" { sub(/:.*/, "", $1); print $1 }') || true
    local -A have=()
    local p
    for p in $installed; do have[$p]=1; done
    for p in "${PACKAGES[@]}"; do
        [[ -n ${have[$p]:-} ]] || printf '%s\n' "$p"
    done
}

# Run an apt-get command (as root), waiting for a dpkg/apt lock held by another
# process. apt-get install waits by itself (DPkg::Lock::Timeout); apt-get update
# does not for the lists lock, so retry on a lock error, for ~10 min at most.
apt_locked_run() {
    local logf=$1; shift
    local deadline=$((SECONDS + 600)) said=0
    while :; do
        if "$@" -o DPkg::Lock::Timeout=600 >"$logf" 2>&1; then
            return 0
        fi
        if grep -qE '^E: .*(Could not get lock|Unable to lock|Unable to acquire)' "$logf" \
           && (( SECONDS < deadline )); then
            (( said )) || log "another apt/dpkg holds the lock; waiting (up to ~10 min)..."
            said=1
            sleep 10
            continue
        fi
        return 1
    done
}

step_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    if (( ${#missing[@]} == 0 )); then
        stamp_ok packages "ok" || { stamp_set packages "ok"; log "Debian packages: all ${#PACKAGES[@]} installed"; }
        return 0
    fi
    rm -f "$DEPS/stamp-packages"
    if (( EUID != 0 )); then
        printf 'deps: missing Debian packages: %s\n' "${missing[*]}" >&2
        printf 'deps: install them as root, e.g.:\n  sudo apt-get update && sudo apt-get install -y %s\n' "${missing[*]}" >&2
        printf 'deps: or run `make deps` as root.\n' >&2
        exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt_locked_run "$DEPS/apt-update.log" apt-get update; then
        show_tail "$DEPS/apt-update.log" 20
        die "apt-get update failed (no network?); cannot install: ${missing[*]}"
    fi
    if ! apt_locked_run "$DEPS/apt-install.log" apt-get install -y --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"; then
        show_tail "$DEPS/apt-install.log" 20
        die "apt-get install failed (no network, or unknown package?); packages still missing: ${missing[*]}"
    fi
    mapfile -t missing < <(missing_packages)
    (( ${#missing[@]} == 0 )) || die "still missing after apt-get install: ${missing[*]}"
    stamp_set packages "ok"
    log "Debian packages installed"
}

# ---------------------------------------------------------------------------
# 2. lwIP source from Debian's source package (private apt state)
# ---------------------------------------------------------------------------
LWIP_DIR=$DEPS/lwip
LWIP_KEY="lwip 2.1.3 debian-source orig-tarball-no-debian-patches v2"

# Write deb-src entries derived from the machine's own deb entries.
make_private_sources() {
    local apt_dir=$1
    mkdir -p "$apt_dir/sources.list.d"
    rm -f "$apt_dir/sources.list.d/"*
    : >"$apt_dir/sources.list"
    local f
    # deb822 files: keep paragraphs whose Types include "deb" and whose URIs
    # look like a Debian archive; rewrite Types to deb-src; drop comments.
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk '
            function flush(   i) {
                if (n > 0 && has_deb && is_debian && enabled) {
                    for (i = 1; i <= n; i++) print buf[i]
                    print ""
                }
                n = 0; has_deb = 0; is_debian = 0; enabled = 1; field = ""
            }
            BEGIN { n = 0; enabled = 1 }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[^ \t]/ {
                field = tolower($1); sub(/:.*/, "", field)
                line = $0
                if (field == "types") {
                    v = line; sub(/^[^:]*:/, "", v)
                    if ((" " v " ") ~ /[ \t]deb[ \t]/) has_deb = 1
                    line = "Types: deb-src"
                } else if (field == "uris") {
                    if (tolower(line) ~ /debian/) is_debian = 1
                } else if (field == "enabled") {
                    if (tolower(line) ~ /no/) enabled = 0
                }
                buf[++n] = line
                next
            }
            { if (field == "uris" && tolower($0) ~ /debian/) is_debian = 1
              buf[++n] = $0 }
            END { flush() }
        ' "$f" >"$apt_dir/sources.list.d/$(basename "$f")"
        [[ -s $apt_dir/sources.list.d/$(basename "$f") ]] || rm -f "$apt_dir/sources.list.d/$(basename "$f")"
    done
    # One-line format: "deb [opts] URI suite comps" -> "deb-src ...".
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        awk '$1 == "deb" && tolower($0) ~ /debian/ { $1 = "deb-src"; print }' "$f" >>"$apt_dir/sources.list"
    done
    if [[ ! -s $apt_dir/sources.list ]] && ! compgen -G "$apt_dir/sources.list.d/*.sources" >/dev/null; then
        die "no Debian 'deb' entry found in /etc/apt/sources.list{,.d/*.sources} to derive a deb-src entry from"
    fi
}

# Check every file listed in the .dsc's Checksums-Sha256 section.
verify_dsc() {
    local dsc=$1 dir
    dir=$(dirname "$dsc")
    local entries
    entries=$(awk '
        /^Checksums-Sha256:/ { on = 1; next }
        on && /^ / { print $1, $2, $3; next }
        on { on = 0 }
    ' "$dsc")
    [[ -n $entries ]] || die "no Checksums-Sha256 section in $(basename "$dsc")"
    local sum size name actual asize
    while read -r sum size name; do
        [[ -f $dir/$name ]] || die "lwIP source file $name listed in the .dsc was not downloaded"
        actual=$(sha256sum "$dir/$name" | awk '{print $1}')
        asize=$(stat -c %s "$dir/$name")
        if [[ $actual != "$sum" || $asize != "$size" ]]; then
            die "checksum MISMATCH for $name: .dsc says sha256=$sum size=$size, got sha256=$actual size=$asize"
        fi
    done <<<"$entries"
    log "lwIP: sha256 of $(wc -l <<<"$entries") file(s) match $(basename "$dsc")"
}

step_lwip() {
    if stamp_ok lwip "$LWIP_KEY" && [[ -f $LWIP_DIR/src/include/lwip/init.h ]]; then
        return 0
    fi
    rm -f "$DEPS/stamp-lwip"
    local A=$DEPS/apt
    log "lwIP: fetching Debian source package 'lwip' (private apt state in .deps/apt/)"
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/src"
    make_private_sources "$A"
    local -a opts=(
        -o Dir::Etc::SourceList="$A/sources.list"
        -o Dir::Etc::SourceParts="$A/sources.list.d"
        -o Dir::State::Lists="$A/lists"
        -o Dir::Cache="$A/cache"
        -o Dir::Cache::pkgcache="$A/cache/pkgcache.bin"
        -o Dir::Cache::srcpkgcache="$A/cache/srcpkgcache.bin"
        -o APT::Get::List-Cleanup=true
    )
    # Files are downloaded into .deps/; let root-run apt do it without the _apt
    # sandbox user (which may not be able to write there).
    (( EUID == 0 )) && opts+=(-o APT::Sandbox::User=root)
    if ! apt-get "${opts[@]}" update >"$A/update.log" 2>&1; then
        show_tail "$A/update.log" 20
        die "apt-get update for the private deb-src list failed (no network?)"
    fi
    rm -rf "$A/src"; mkdir -p "$A/src"
    if ! (cd "$A/src" && apt-get "${opts[@]}" source --download-only lwip) >"$A/source.log" 2>&1; then
        show_tail "$A/source.log" 20
        die "apt-get source --download-only lwip failed"
    fi
    local dsc
    dsc=$(compgen -G "$A/src/lwip_*.dsc" | head -n1) || true
    [[ -n $dsc ]] || die "no lwip_*.dsc downloaded (see .deps/apt/source.log)"
    verify_dsc "$dsc"

    # Unpack only the upstream (orig) tarball, without Debian's patches: they are
    # a PPP fix (CVE-2020-8597), sockets/tcpip-thread changes (need NO_SYS=0),
    # a GNU/Hurd port/ directory and a CMake build -- none touch the NO_SYS raw
    # API core, netif or apps this project compiles.
    local orig
    orig=$(compgen -G "$A/src/lwip_*.orig.tar.*" | head -n1) || true
    [[ -n $orig ]] || die "no lwip orig tarball found next to $(basename "$dsc")"
    local tmp=$DEPS/lwip.tmp
    rm -rf "$tmp"; mkdir -p "$tmp"
    tar -xf "$orig" -C "$tmp" --strip-components=1
    rm -f "$tmp/pax_global_header"   # stray git-archive header stored as a file
    local init=$tmp/src/include/lwip/init.h
    [[ -f $init ]] || die "unexpected lwip tarball layout: src/include/lwip/init.h missing"
    local maj min rev
    # (lwIP's sources have CRLF line endings: strip the CR.)
    maj=$(awk '$1 == "#define" && $2 == "LWIP_VERSION_MAJOR"    { sub(/\r$/, "", $3); print $3 }' "$init")
    min=$(awk '$1 == "#define" && $2 == "LWIP_VERSION_MINOR"    { sub(/\r$/, "", $3); print $3 }' "$init")
    rev=$(awk '$1 == "#define" && $2 == "LWIP_VERSION_REVISION" { sub(/\r$/, "", $3); print $3 }' "$init")
    [[ $maj == 2 && $min == 1 && $rev == 3 ]] \
        || die "lwIP version in init.h is $maj.$min.$rev, expected 2.1.3"
    rm -rf "$LWIP_DIR"
    mv "$tmp" "$LWIP_DIR"
    stamp_set lwip "$LWIP_KEY"
    log "lwIP 2.1.3 ready in .deps/lwip ($(basename "$orig"))"
}

# ---------------------------------------------------------------------------
# 3. newlib for x86_64-elf
# ---------------------------------------------------------------------------
NEWLIB_DIR=$DEPS/newlib
NEWLIB_BUILD=$DEPS/build-newlib
NEWLIB_CONF=(--host=x86_64-elf --disable-multilib --disable-newlib-supplied-syscalls
             --enable-newlib-nano-malloc --enable-newlib-io-long-long --enable-newlib-io-c99-formats)
NEWLIB_KEY="newlib 3.3.0 ${NEWLIB_CONF[*]} cc=$(tr '\n' ' ' <"$ROOT/scripts/newlib-cc.sh" | md5sum | cut -c1-12)"

step_newlib() {
    if stamp_ok newlib "$NEWLIB_KEY" && [[ -f $NEWLIB_DIR/include/stdio.h \
          && -f $NEWLIB_DIR/lib/libc.a && -f $NEWLIB_DIR/lib/libm.a ]]; then
        return 0
    fi
    rm -f "$DEPS/stamp-newlib"
    local tarball
    tarball=$(compgen -G "/usr/src/newlib/newlib-*.tar.*" | sort -V | tail -n1) || true
    [[ -n $tarball ]] || die "no newlib tarball in /usr/src/newlib/ (is newlib-source installed?)"
    local buildlog=$NEWLIB_BUILD/build.log
    log "newlib: building $(basename "$tarball") for x86_64-elf (about 2 min; log: .deps/build-newlib/build.log)"
    local t0=$SECONDS
    rm -rf "$NEWLIB_BUILD" "$NEWLIB_DIR" "$DEPS/newlib.stage"
    mkdir -p "$NEWLIB_BUILD/obj"
    tar -xf "$tarball" -C "$NEWLIB_BUILD"
    local src
    src=$(compgen -G "$NEWLIB_BUILD/newlib-*/newlib/configure" | head -n1) || true
    [[ -n $src ]] || die "newlib/configure not found in $(basename "$tarball")"
    local jobs=2
    if ! (
        cd "$NEWLIB_BUILD/obj"
        export CC="$ROOT/scripts/newlib-cc.sh" CFLAGS="-O2 -g"
        export AR=ar AS=as LD=ld NM=nm RANLIB=ranlib OBJCOPY=objcopy OBJDUMP=objdump \
               READELF=readelf STRIP=strip
        export AR_FOR_TARGET=ar AS_FOR_TARGET=as LD_FOR_TARGET=ld NM_FOR_TARGET=nm \
               RANLIB_FOR_TARGET=ranlib CC_FOR_TARGET="$CC"
        echo "== configure" &&
        "$src" "${NEWLIB_CONF[@]}" --prefix="$DEPS/newlib.stage" &&
        echo "== make" &&
        make -j"$jobs" &&
        echo "== make install" &&
        make install
    ) >"$buildlog" 2>&1; then
        show_tail "$buildlog" 40
        die "newlib build failed (full log: .deps/build-newlib/build.log)"
    fi
    # Flatten: install puts everything under <prefix>/x86_64-elf/{include,lib}.
    local stage=$DEPS/newlib.stage
    [[ -d $stage/x86_64-elf/include ]] && stage=$stage/x86_64-elf
    local tmp=$DEPS/newlib.tmp
    rm -rf "$tmp"; mkdir -p "$tmp"
    mv "$stage/include" "$tmp/include"
    mv "$stage/lib" "$tmp/lib"
    rm -rf "$DEPS/newlib.stage"
    local f
    for f in include/stdio.h lib/libc.a lib/libm.a; do
        [[ -f $tmp/$f ]] || { show_tail "$buildlog" 40; die "newlib install lacks $f"; }
    done
    mv "$tmp" "$NEWLIB_DIR"
    stamp_set newlib "$NEWLIB_KEY"
    log "newlib built in $((SECONDS - t0)) s: .deps/newlib/include, .deps/newlib/lib/{libc.a,libm.a}"
}

step_packages
step_lwip
step_newlib
log "all dependencies ready"
