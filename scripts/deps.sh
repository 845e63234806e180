#!/usr/bin/env bash
# Idempotent dependency set-up (called by `make deps`):
#   1. Debian packages (installed with apt-get when running as root),
#   2. lwIP 2.2.1 source from Debian 13's source package `lwip`, fetched with a private
#      apt state under .deps/apt/ (the system apt configuration is never modified),
#      then net/port/patches/series applied to a fresh tree,
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
          python3-pytest libcmocka-dev newlib-source iperf iperf3 iputils-ping curl wrk
          iproute2 arping dpkg-dev patch gcc make binutils ovmf grub-efi-amd64-bin chromium
          spin clang libclang-rt-14-dev libglib2.0-dev)

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
# 2. lwIP source from Debian's source package (private apt state), plus our
#    patch series (net/port/patches/series) applied to a fresh tree
# ---------------------------------------------------------------------------
LWIP_DIR=$DEPS/lwip
LWIP_VERSION=2.2.1
# Debian 13 "trixie" carries 2.2.1; the machine's own suite may be older, so the
# private list names the trixie suites explicitly, on the machine's archive URIs.
LWIP_SUITE=trixie
LWIP_DEB_VERSION=2.2.1+dfsg1-1+deb13u1
# The .dsc itself is pinned (apt already checks it against the signed Sources
# index; this also catches a different upload under the same version).
LWIP_DSC_SHA256=07ecb7122b2882a5265c6d1413947dd9a054d5ae25150b7042885d3f3d0b5aad
LWIP_SRC_KEY="lwip $LWIP_DEB_VERSION dsc=$LWIP_DSC_SHA256 v3"
LWIP_PATCH_DIR=$ROOT/net/port/patches

# Write deb-src entries for $LWIP_SUITE on the Debian archive URIs the machine
# already uses: a URI whose suites end in -security gets $LWIP_SUITE-security,
# any other Debian URI gets $LWIP_SUITE. Keyring options are kept.
make_private_sources() {
    local apt_dir=$1
    mkdir -p "$apt_dir/sources.list.d"
    rm -f "$apt_dir/sources.list.d/"*
    : >"$apt_dir/sources.list"
    local f
    # Print "URI<TAB>suites<TAB>signed-by" for each enabled Debian "deb" entry.
    {
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -f $f ]] || continue
            awk '
                function flush() {
                    if (has_deb && enabled && uris != "") print uris "\t" suites "\t" signed
                    has_deb = 0; enabled = 1; uris = ""; suites = ""; signed = ""; field = ""
                }
                BEGIN { enabled = 1 }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[^ \t]/ {
                    field = tolower($1); sub(/:.*/, "", field)
                    v = $0; sub(/^[^:]*:[ \t]*/, "", v)
                    if (field == "types" && (" " v " ") ~ /[ \t]deb[ \t]/) has_deb = 1
                    else if (field == "uris") uris = v
                    else if (field == "suites") suites = v
                    else if (field == "signed-by") signed = v
                    else if (field == "enabled" && tolower(v) ~ /no/) enabled = 0
                    next
                }
                END { flush() }
            ' "$f"
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -f $f ]] || continue
            # deb [opts] URI suite comps...
            awk '$1 == "deb" {
                    i = 2; signed = ""
                    if ($2 ~ /^\[/) {
                        while (i <= NF && $i !~ /\]$/) { if ($i ~ /signed-by=/) signed = $i; i++ }
                        if ($i ~ /signed-by=/) signed = $i
                        i++
                        sub(/.*signed-by=/, "", signed); sub(/\]$/, "", signed)
                    }
                    print $i "\t" $(i + 1) "\t" signed
                 }' "$f"
        done
    } | awk -F'\t' -v suite="$LWIP_SUITE" '
        tolower($1) ~ /debian/ {
            n = split($1, u, /[ \t]+/)
            sec = ($2 ~ /-security/) ? "-security" : ""
            for (i = 1; i <= n; i++) {
                key = u[i] sec
                if (u[i] == "" || seen[key]++) continue
                print "Types: deb-src"
                print "URIs: " u[i]
                print "Suites: " suite sec
                print "Components: main"
                if ($3 != "") print "Signed-By: " $3
                print ""
            }
        }' >"$apt_dir/sources.list.d/lwip-$LWIP_SUITE.sources"
    [[ -s $apt_dir/sources.list.d/lwip-$LWIP_SUITE.sources ]] \
        || die "no Debian 'deb' entry found in /etc/apt/sources.list{,.d/*} to derive a $LWIP_SUITE deb-src entry from"
}

# Check every file listed in the .dsc's Checksums-Sha256 section.
verify_dsc() {
    local dsc=$1 dir
    dir=$(dirname "$dsc")
    local dsum
    dsum=$(sha256sum "$dsc" | awk '{print $1}')
    [[ $dsum == "$LWIP_DSC_SHA256" ]] \
        || die "checksum MISMATCH for $(basename "$dsc"): expected sha256=$LWIP_DSC_SHA256, got $dsum"
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
    log "lwIP: sha256 of the .dsc and its $(wc -l <<<"$entries") file(s) match"
}

# Download the source package into .deps/apt/src (once per LWIP_SRC_KEY).
fetch_lwip_source() {
    local A=$DEPS/apt
    if stamp_ok lwip-src "$LWIP_SRC_KEY" && compgen -G "$A/src/lwip_*.orig.tar.*" >/dev/null; then
        return 0
    fi
    rm -f "$DEPS/stamp-lwip-src"
    log "lwIP: fetching Debian source package lwip=$LWIP_DEB_VERSION ($LWIP_SUITE; private apt state in .deps/apt/)"
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
    if ! (cd "$A/src" && apt-get "${opts[@]}" source --download-only "lwip=$LWIP_DEB_VERSION") >"$A/source.log" 2>&1; then
        show_tail "$A/source.log" 20
        die "apt-get source --download-only lwip=$LWIP_DEB_VERSION failed"
    fi
    local dsc
    dsc=$(compgen -G "$A/src/lwip_*.dsc" | head -n1) || true
    [[ -n $dsc ]] || die "no lwip_*.dsc downloaded (see .deps/apt/source.log)"
    verify_dsc "$dsc"
    stamp_set lwip-src "$LWIP_SRC_KEY"
}

# Patch file names from the series file: one per line, '#' starts a comment.
lwip_series() {
    [[ -f $LWIP_PATCH_DIR/series ]] || return 0
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$LWIP_PATCH_DIR/series" | grep -v '^$' || true
}

step_lwip() {
    local -a patches
    mapfile -t patches < <(lwip_series)
    local p
    for p in "${patches[@]}"; do
        [[ -f $LWIP_PATCH_DIR/$p ]] || die "lwIP patch series names $p, but net/port/patches/$p does not exist"
    done
    # The key covers the source and the exact bytes of the series and every patch,
    # so editing, adding or removing a patch re-unpacks and re-applies all of them.
    local phash
    phash=$(cd "$LWIP_PATCH_DIR" 2>/dev/null && cat series "${patches[@]}" 2>/dev/null | sha256sum | cut -c1-16) || phash=none
    local key="$LWIP_SRC_KEY patches=$phash"
    if stamp_ok lwip "$key" && [[ -f $LWIP_DIR/src/include/lwip/init.h ]]; then
        # Same bytes, newer files (a checkout or merge): mark the tree current
        # for net/port/lwip.mk's staleness check.
        if [[ -n $(find "$LWIP_PATCH_DIR" -newer "$DEPS/stamp-lwip" -print -quit 2>/dev/null) ]]; then
            touch "$DEPS/stamp-lwip"
        fi
        return 0
    fi
    rm -f "$DEPS/stamp-lwip"
    fetch_lwip_source
    local A=$DEPS/apt
    # Unpack only the upstream (orig) tarball, without Debian's patches: they are
    # POSIX-library/sockets changes (need NO_SYS=0), a socket-count limit, doxygen
    # fixes, an IPv6 address-parsing fix (ip6addr_aton, unused here) and an SNMPv3
    # fix (CVE-2026-8836) -- none touch the NO_SYS raw API core, netif or apps this
    # project compiles.
    local orig
    orig=$(compgen -G "$A/src/lwip_*.orig.tar.*" | head -n1) || true
    [[ -n $orig ]] || die "no lwip orig tarball found in .deps/apt/src"
    local tmp=$DEPS/lwip.tmp
    rm -rf "$tmp"; mkdir -p "$tmp"
    # --touch: files get the unpack time, so objects built from an older tree
    # (another version, a patch since removed) are rebuilt.
    tar -xf "$orig" -C "$tmp" --strip-components=1 --touch
    rm -f "$tmp/pax_global_header"   # stray git-archive header stored as a file
    local init=$tmp/src/include/lwip/init.h
    [[ -f $init ]] || die "unexpected lwip tarball layout: src/include/lwip/init.h missing"
    local maj min rev
    maj=$(awk '$1 == "#define" && $2 == "LWIP_VERSION_MAJOR"    { sub(/\r$/, "", $3); print $3 }' "$init")
    min=$(awk '$1 == "#define" && $2 == "LWIP_VERSION_MINOR"    { sub(/\r$/, "", $3); print $3 }' "$init")
    rev=$(awk '$1 == "#define" && $2 == "LWIP_VERSION_REVISION" { sub(/\r$/, "", $3); print $3 }' "$init")
    [[ $maj.$min.$rev == "$LWIP_VERSION" ]] \
        || die "lwIP version in init.h is $maj.$min.$rev, expected $LWIP_VERSION"
    local out
    for p in "${patches[@]}"; do
        if ! out=$(patch -d "$tmp" -p1 --batch --forward --no-backup-if-mismatch -r - \
                        -i "$LWIP_PATCH_DIR/$p" 2>&1); then
            # No tree at all rather than a stale one a later `make` would build.
            rm -rf "$tmp" "$LWIP_DIR"
            die "lwIP patch net/port/patches/$p does not apply to lwIP $LWIP_VERSION: $(grep -m1 -iE 'fail|reject|error|malformed|only garbage|reversed' <<<"$out" || head -n1 <<<"$out")"
        fi
    done
    rm -rf "$LWIP_DIR"
    mv "$tmp" "$LWIP_DIR"
    stamp_set lwip "$key"
    log "lwIP $LWIP_VERSION ready in .deps/lwip ($(basename "$orig"), ${#patches[@]} patch(es) applied)"
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
