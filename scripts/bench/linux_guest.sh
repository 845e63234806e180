#!/usr/bin/env bash
# Build the reference Linux guest for `make bench`, from Debian packages only:
#   vmlinuz + virtio modules  <- linux-image-<current>-amd64 (what linux-image-amd64 depends on)
#   /init and every tool      <- busybox-static
#   web server                <- lighttpd + its shared libraries (keep-alive, sendfile);
#                                busybox httpd closes every connection, which would make the
#                                keep-alive wrk runs measure connection set-up instead
#   iperf2 server             <- iperf + libstdc++6/libgcc-s1/libc6
# Output (default .deps/linux-guest/): vmlinuz, initramfs.cpio.gz, info.json, stamp.
# The stamp holds a hash of this script and the page served as `/`; a second run with
# the same inputs prints "cached" and exits at once. Debian .debs are kept in debs/.
#
# The guest (see /init below) reads from the kernel command line:
#   ip=A.B.C.D/N  gw=A.B.C.D   static address of eth0 (the kernel has no IP_PNP: /init does it)
#   bench.nobytes              do not create the 64 MiB /bytes file (smallest -m probes)
# and prints on the console:
#   READY ip=A.B.C.D port=80 t=<printk seconds>   once lighttpd and iperf listen
#   BYTES-READY t=<printk seconds>                 once /www/bytes/67108864 exists
# The 64 MiB file (byte i = i mod 251) is made in the guest after READY, from a
# 251*4096-byte block written by printf and concatenated 66 times, then cut with head -c.
# Doing it after READY keeps it out of Linux's boot time (our server synthesises /bytes/N);
# it lives in the initramfs (RAM), so the guest needs -m big enough for it.
# /cgi-bin/stats.sh returns /proc/interrupts and /proc/net/dev (interrupts per packet) and
# the negotiated virtio feature bits.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/.deps/linux-guest}
INDEX=${LG_INDEX:-$ROOT/net/apps/www/index.html}
SELF=$ROOT/scripts/bench/linux_guest.sh

log() { printf 'linux-guest: %s\n' "$*" >&2; }
die() { printf 'linux-guest: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -f $INDEX ]] || die "no page to serve as / ($INDEX)"
KEY=$(cat "$SELF" "$INDEX" | sha256sum | cut -c1-16)
if [[ -f $OUT/stamp && $(<"$OUT/stamp") == "$KEY" && -f $OUT/vmlinuz && -f $OUT/initramfs.cpio.gz ]]; then
    log "cached ($OUT)"
    exit 0
fi
mkdir -p "$OUT/debs"
cd "$OUT"

# ---------------------------------------------------------------- packages --
current_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null \
        | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
KPKG=$(current_kernel || true)
if [[ -z $KPKG ]]; then
    if [[ $(id -u) == 0 ]]; then
        log "apt lists look empty; apt-get update"
        apt-get update -qq >/dev/null 2>&1 || true
        KPKG=$(current_kernel || true)
    fi
fi
if [[ -z $KPKG ]]; then
    # Fall back to an already downloaded kernel package.
    KPKG=$(ls debs/ 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*-amd64\)_.*\.deb$/\1/p' | sort -V | tail -1)
fi
[[ -n $KPKG ]] || die "cannot tell the current linux-image-*-amd64 package (apt-get update?)"
KVER=${KPKG#linux-image-}
PKGS=("$KPKG" busybox-static lighttpd iperf libc6 libcrypt1 libnettle8 libpcre2-8-0 libxxhash0
      libstdc++6 libgcc-s1)
need=()
for p in "${PKGS[@]}"; do
    compgen -G "debs/${p}_*.deb" >/dev/null || need+=("$p")
done
if (( ${#need[@]} )); then
    log "apt-get download ${need[*]}"
    # apt's _apt user must be able to write here, or it warns and downloads unsandboxed
    chmod 0777 debs 2>/dev/null || true
    (cd debs && apt-get download -q "${need[@]}" >"$OUT/download.log" 2>&1) \
        || { tail -20 "$OUT/download.log" >&2; die "apt-get download failed"; }
fi

# ----------------------------------------------------------------- extract --
rm -rf x rootfs
mkdir -p x
for p in "${PKGS[@]}"; do
    f=$(ls debs/${p}_*.deb | sort -V | tail -1)
    dpkg-deb -x "$f" x
done
[[ -f x/boot/vmlinuz-$KVER ]] || die "x/boot/vmlinuz-$KVER missing in $KPKG"
MODDIR=x/lib/modules/$KVER/kernel

# ------------------------------------------------------------------ rootfs --
R=rootfs
mkdir -p $R/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,var/tmp,lib/modules,www/bytes,www/cgi-bin}
cp x/bin/busybox $R/bin/busybox
for a in $(x/bin/busybox --list); do
    [[ $a == busybox ]] || ln -sf busybox "$R/bin/$a"
done

# Binaries and exactly the shared objects the loader resolves for them, from the tree.
LDSO=x/lib64/ld-linux-x86-64.so.2
[[ -e $LDSO ]] || LDSO=x/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
LIBPATH=$OUT/x/lib/x86_64-linux-gnu:$OUT/x/usr/lib/x86_64-linux-gnu
copy_lib() {   # $1: absolute path inside $OUT/x; copy it (and the file a symlink names)
    local src=$1 rel=${1#"$OUT"/x/}
    mkdir -p "$R/$(dirname "$rel")"
    cp -L "$src" "$R/$rel"
}
for bin in usr/sbin/lighttpd usr/bin/iperf; do
    [[ -f x/$bin ]] || die "x/$bin missing"
    mkdir -p "$R/$(dirname "$bin")"
    cp "x/$bin" "$R/$bin"
    # "libfoo.so.N => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 => /path (0x...)"
    "$OUT/x/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$LIBPATH" --list "x/$bin" \
        | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
            case $lib in "$OUT"/x/*) copy_lib "$lib" ;; *) die "$bin: $lib not from the packages" ;; esac
        done
done
mkdir -p $R/lib64 $R/lib/x86_64-linux-gnu
cp -L x/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 $R/lib/x86_64-linux-gnu/
ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 $R/lib64/ld-linux-x86-64.so.2
# lighttpd's own modules (mod_cgi for the stats script) live in /usr/lib/lighttpd
mkdir -p $R/usr/lib/lighttpd
cp x/usr/lib/lighttpd/mod_cgi.so $R/usr/lib/lighttpd/

# Modules: the closure of virtio_net + virtio_pci over each .ko's `depends=` field, in
# dependency order (no modules.dep in the package: depmod runs at install time).
declare -A KO=() DONE=()
while IFS= read -r f; do KO[$(basename "$f" .ko)]=$f; done \
    < <(find "$MODDIR" -name '*.ko' \( -path '*/virtio/*' -o -path '*/net/*' \))
ORDER=()
visit() {
    local m=$1 d
    [[ -n ${DONE[$m]:-} ]] && return
    DONE[$m]=1
    [[ -n ${KO[$m]:-} ]] || die "module $m not found in $KPKG"
    for d in $(tr '\0' '\n' <"${KO[$m]}" | sed -n 's/^depends=//p' | tr ',' ' '); do
        visit "${d//-/_}"
    done
    ORDER+=("$m")
}
visit virtio_pci
visit virtio_net
for m in "${ORDER[@]}"; do cp "${KO[$m]}" "$R/lib/modules/$m.ko"; done
printf '%s\n' "${ORDER[@]}" >$R/etc/modules.order
log "kernel $KVER, modules: ${ORDER[*]}"

cp "$INDEX" $R/www/index.html
cat >$R/etc/passwd <<'EOF'
root:x:0:0:root:/:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/false
EOF
cat >$R/etc/group <<'EOF'
root:x:0:
nogroup:x:65534:
EOF

cat >$R/etc/lighttpd.conf <<'EOF'
server.document-root = "/www"
server.port = 80
server.bind = "0.0.0.0"
server.username = "nobody"
server.groupname = "nogroup"
server.errorlog = "/tmp/lighttpd.err"
server.pid-file = "/run/lighttpd.pid"
server.modules = ( "mod_cgi" )
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".css" => "text/css", "" => "application/octet-stream" )
server.max-connections = 1024
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 120
server.tag = "lighttpd"
cgi.assign = ( ".sh" => "/bin/sh" )
EOF

cat >$R/www/cgi-bin/stats.sh <<'EOF'
echo "Content-Type: text/plain"
echo
cat /proc/interrupts /proc/net/dev
for f in /sys/bus/virtio/devices/*/features; do echo "virtio-features $f $(cat $f)"; done
EOF

cat >$R/init <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
ts() { echo "bench: $1" >/dev/kmsg; dmesg | sed -n "s/^\[ *\([0-9.]*\)\] bench: $1\$/\1/p" | tail -1; }
for m in $(cat /etc/modules.order); do
    insmod /lib/modules/$m.ko || echo "init: insmod $m failed"
done
IP=; GW=; NOBYTES=
for kv in $(cat /proc/cmdline); do
    case $kv in
        ip=*) IP=${kv#ip=} ;;
        gw=*) GW=${kv#gw=} ;;
        bench.nobytes) NOBYTES=1 ;;
    esac
done
[ -n "$IP" ] || IP=10.0.2.15/24
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 200 ]; do usleep 10000; n=$((n+1)); done
ip addr add $IP dev eth0
ip link set eth0 up
[ -n "$GW" ] && ip route add default via $GW
chmod 1777 /tmp
lighttpd -f /etc/lighttpd.conf || { echo "init: lighttpd failed"; cat /tmp/lighttpd.err; }
iperf -s -D >/dev/null 2>&1 || (iperf -s >/dev/null 2>&1 &)
n=0
while ! netstat -ltn 2>/dev/null | grep -q ':5001 ' && [ $n -lt 100 ]; do usleep 10000; n=$((n+1)); done
echo "READY ip=${IP%/*} port=80 t=$(ts READY)"
if [ -z "$NOBYTES" ]; then
    # 251 bytes 0..250, then 4096 copies of them, then 66 of those cut to 64 MiB
    i=0; s=
    while [ $i -lt 251 ]; do s="$s\\$(printf %o $i)"; i=$((i+1)); done
    printf "$s" >/tmp/p251
    i=0; while [ $i -lt 12 ]; do cat /tmp/p251 /tmp/p251 >/tmp/p2 && mv /tmp/p2 /tmp/p251; i=$((i+1)); done
    i=0; while [ $i -lt 66 ]; do cat /tmp/p251; i=$((i+1)); done | head -c 67108864 >/www/bytes/.tmp
    rm -f /tmp/p251
    mv /www/bytes/.tmp /www/bytes/67108864
    echo "BYTES-READY size=$(stat -c %s /www/bytes/67108864) t=$(ts BYTES-READY)"
fi
while :; do sleep 3600; done
EOF
chmod 755 $R/init $R/www/cgi-bin/stats.sh

# ---------------------------------------------------------------- initramfs --
(cd $R && find . | sort | "$OUT/x/bin/busybox" cpio -o -H newc 2>/dev/null) | gzip -9 >initramfs.cpio.gz.tmp
mv initramfs.cpio.gz.tmp initramfs.cpio.gz
cp "x/boot/vmlinuz-$KVER" vmlinuz
vers=$(for p in "${PKGS[@]}"; do f=$(ls debs/${p}_*.deb | sort -V | tail -1); basename "$f" .deb; done \
       | sed 's/.*/"&"/' | paste -sd, -)
printf '{"kernel": "%s", "modules": "%s", "vmlinuz_bytes": %d, "initramfs_bytes": %d, "packages": [%s]}\n' \
    "$KVER" "${ORDER[*]}" "$(stat -c %s vmlinuz)" "$(stat -c %s initramfs.cpio.gz)" "$vers" >info.json
rm -rf x
printf '%s\n' "$KEY" >stamp
log "built $OUT (vmlinuz $(stat -c %s vmlinuz) B, initramfs $(stat -c %s initramfs.cpio.gz) B)"
