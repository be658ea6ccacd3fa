#!/bin/bash
# Fetch and build ringvm's default guest into .cache/guest/:
#   vmlinuz             Debian 12 cloud kernel (bzImage), from linux-image-cloud-amd64's dependency
#   vmlinux             the ELF kernel unpacked from vmlinuz's LZ4 payload (has a Xen PVH entry note)
#   initramfs.cpio.gz   busybox-static + guest-initramfs/init + the virtio modules
#   rootfs/             the initramfs staging tree (re-used by bench/build)
#   kernel-version      the kernel release string (e.g. 6.1.0-56-cloud-amd64)
# Idempotent: re-uses .cache/guest/debs/ and rebuilds only what is stale.
#   --force   refetch the packages and rebuild everything
#   --quiet   only print what is done, not what is re-used
# Documented in docs/guest-assets.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$ROOT/.cache/guest
DEBS=$CACHE/debs
PKG=$CACHE/pkg
FORCE=0
QUIET=0
for a in "$@"; do
    case "$a" in
    --force) FORCE=1 ;;
    --quiet|-q) QUIET=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "fetch-guest-assets: unknown argument $a" >&2; exit 2 ;;
    esac
done

say() { echo "fetch-guest-assets: $*"; }
reuse() { [ "$QUIET" = 1 ] || say "$*"; }
die() { echo "fetch-guest-assets: error: $*" >&2; exit 1; }

# Host tools (Debian package providing each). depmod is optional.
need_pkgs=()
for t in lz4:lz4 readelf:binutils file:file gzip:gzip python3:python3 dpkg-deb:dpkg apt-get:apt; do
    command -v "${t%%:*}" >/dev/null 2>&1 || need_pkgs+=("${t##*:}")
done
command -v depmod >/dev/null 2>&1 || [ -x /sbin/depmod ] || need_pkgs+=(kmod)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        say "installing host tools: ${need_pkgs[*]} (apt-get)"
        apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null 2>&1 || {
            say "apt-get install failed; running apt-get update first"
            apt-get update >/dev/null
            apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null
        }
    else
        say "warning: missing host tools (packages: ${need_pkgs[*]}); not root, not installing"
    fi
fi
DEPMOD=$(command -v depmod || { [ -x /sbin/depmod ] && echo /sbin/depmod; } || true)
for t in lz4 readelf gzip python3 dpkg-deb; do
    command -v "$t" >/dev/null || die "$t is required"
done

mkdir -p "$DEBS" "$PKG"

# ---- 1. resolve and download the packages ---------------------------------
resolve_kernel_pkg() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }'
}
KPKG=$(resolve_kernel_pkg || true)
if [ -z "$KPKG" ] && [ "$(id -u)" = 0 ]; then
    say "apt-cache does not know linux-image-cloud-amd64; running apt-get update"
    apt-get update >/dev/null
    KPKG=$(resolve_kernel_pkg || true)
fi
if [ -z "$KPKG" ]; then
    # offline / no apt lists: fall back to whatever kernel deb is cached
    cached=$(ls "$DEBS"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | sort -V | tail -n1 || true)
    [ -n "$cached" ] || die "cannot resolve linux-image-cloud-amd64 (apt-get update?) and nothing is cached"
    KPKG=$(basename "$cached" | cut -d_ -f1)
    say "cannot resolve linux-image-cloud-amd64 with apt-cache; using cached $KPKG"
fi

fetch_deb() { # $1 = package name; prints the .deb path
    local pkg=$1 deb
    deb=$(ls "$DEBS/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
    if [ "$FORCE" = 1 ] && [ -n "$deb" ]; then
        rm -f "$DEBS/${pkg}"_*.deb
        deb=
    fi
    if [ -z "$deb" ]; then
        local ver
        ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ { print $2 }')
        say "downloading $pkg ${ver:-} from Debian (apt-get download) into .cache/guest/debs/" >&2
        # apt's _apt user may not be able to write here; that only produces a warning.
        (cd "$DEBS" && apt-get download "$pkg" 2>&1 | grep -v -e 'unsandboxed' -e '^Get:' >&2 || true)
        deb=$(ls "$DEBS/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
        if [ -z "$deb" ] && [ "$(id -u)" = 0 ]; then
            say "apt-get download $pkg failed; running apt-get update and retrying" >&2
            apt-get update >/dev/null
            (cd "$DEBS" && apt-get download "$pkg" 2>&1 | grep -v -e 'unsandboxed' -e '^Get:' >&2 || true)
            deb=$(ls "$DEBS/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
        fi
        [ -n "$deb" ] || die "apt-get download $pkg failed (try: apt-get update)"
        say "downloaded $(basename "$deb") ($(du -h "$deb" | cut -f1))" >&2
    else
        reuse "re-using cached $(basename "$deb")" >&2
    fi
    echo "$deb"
}
KDEB=$(fetch_deb "$KPKG")
BDEB=$(fetch_deb busybox-static)

# ---- 2. extract -----------------------------------------------------------
extract() { # $1 = deb, $2 = destination
    local deb=$1 dst=$2
    if [ "$FORCE" = 0 ] && [ -f "$dst/.stamp" ] && [ "$(cat "$dst/.stamp")" = "$(basename "$deb")" ]; then
        reuse "re-using extracted $(basename "$deb")"
        return
    fi
    say "extracting $(basename "$deb") -> ${dst#"$ROOT"/}"
    rm -rf "$dst"
    mkdir -p "$dst"
    dpkg-deb -x "$deb" "$dst"
    basename "$deb" >"$dst/.stamp"
}
extract "$KDEB" "$PKG/kernel"
extract "$BDEB" "$PKG/busybox"

KSRC=$(ls "$PKG"/kernel/boot/vmlinuz-* | head -n1)
KVER=${KSRC##*/vmlinuz-}
[ -d "$PKG/kernel/lib/modules/$KVER" ] || die "no modules for $KVER in $KDEB"
BUSYBOX=$PKG/busybox/bin/busybox
[ -x "$BUSYBOX" ] || die "no bin/busybox in $BDEB"

# ---- 3. vmlinuz and vmlinux -----------------------------------------------
if [ "$FORCE" = 1 ] || ! cmp -s "$KSRC" "$CACHE/vmlinuz" || [ ! -s "$CACHE/vmlinux" ] ||
   [ "$CACHE/vmlinuz" -nt "$CACHE/vmlinux" ]; then
    say "installing vmlinuz ($KVER) and unpacking vmlinux from its LZ4 payload"
    cp "$KSRC" "$CACHE/vmlinuz.tmp" && mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
    u8() { od -An -tu1 -j "$1" -N1 "$CACHE/vmlinuz" | tr -d ' \n'; }
    u32() { od -An -tu4 -j "$1" -N4 "$CACHE/vmlinuz" | tr -d ' \n'; }
    [ "$(od -An -c -j $((0x202)) -N4 "$CACHE/vmlinuz" | tr -d ' \n')" = HdrS ] || die "vmlinuz has no HdrS setup header"
    setup_sects=$(u8 $((0x1f1)))
    [ "$setup_sects" = 0 ] && setup_sects=4
    payload_off=$(u32 $((0x248)))
    payload_len=$(u32 $((0x24c)))
    start=$(((setup_sects + 1) * 512 + payload_off))
    dd if="$CACHE/vmlinuz" of="$CACHE/payload.bin" bs=64K iflag=skip_bytes,count_bytes \
        skip="$start" count="$payload_len" status=none
    magic=$(od -An -tx1 -N4 "$CACHE/payload.bin" | tr -d ' \n')
    [ "$magic" = 02214c18 ] || die "payload magic is $magic, expected LZ4 legacy 02214c18"
    # The kernel build appends the decompressed size (le32) after the LZ4 stream.
    want=$(od -An -tu4 -j $((payload_len - 4)) -N4 "$CACHE/payload.bin" | tr -d ' \n')
    truncate -s $((payload_len - 4)) "$CACHE/payload.bin"
    lz4 -d -q -f "$CACHE/payload.bin" "$CACHE/vmlinux.tmp"
    rm -f "$CACHE/payload.bin"
    got=$(stat -c %s "$CACHE/vmlinux.tmp")
    [ "$got" = "$want" ] || die "vmlinux is $got bytes, the payload trailer says $want"
    readelf -h "$CACHE/vmlinux.tmp" | grep 'Class:.*ELF64' >/dev/null || die "vmlinux is not an ELF64 file"
    readelf -n "$CACHE/vmlinux.tmp" | grep -E 'Xen.*(PHYS32_ENTRY|0x00000012)' >/dev/null ||
        die "vmlinux has no Xen PVH (XEN_ELFNOTE_PHYS32_ENTRY) note"
    touch "$CACHE/vmlinux.tmp" # lz4 copies the input's (second-resolution) mtime
    mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"
    say "vmlinux: $(file -b "$CACHE/vmlinux" | cut -d, -f1-2), $got bytes, PVH note present"
else
    reuse "re-using vmlinuz and vmlinux ($KVER)"
fi
echo "$KVER" >"$CACHE/kernel-version.tmp" && mv "$CACHE/kernel-version.tmp" "$CACHE/kernel-version"

# ---- 4. initramfs ---------------------------------------------------------
MODULES=(virtio_pci virtio_blk virtio_net virtio_console virtio-rng virtio_mmio
         vmw_vsock_virtio_transport virtio_balloon)
OUT=$CACHE/initramfs.cpio.gz
ROOTFS=$CACHE/rootfs
stale=0
# The stamp also names the contents of guest-initramfs/ (a hash), so a cache
# shared by several checkouts is rebuilt when another one wrote it.
INITFS_HASH=$(cd "$ROOT/guest-initramfs" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
STAMP_LINE="$(basename "$KDEB") $(basename "$BDEB") ${MODULES[*]} initramfs=$INITFS_HASH"
if [ "$FORCE" = 1 ] || [ ! -s "$OUT" ] || [ ! -f "$CACHE/rootfs.stamp" ] ||
   [ "$(cat "$CACHE/rootfs.stamp")" != "$STAMP_LINE" ]; then
    stale=1
elif [ -n "$(find "$ROOT/guest-initramfs" "$ROOT/scripts/fetch-guest-assets.sh" "$ROOT/scripts/mkcpio.py" \
             -newer "$OUT" -print -quit)" ]; then
    say "guest-initramfs/ or the build scripts changed since the last build"
    stale=1
fi
if [ "$stale" = 0 ]; then
    reuse "re-using initramfs.cpio.gz (up to date)"
else
    say "building initramfs.cpio.gz (busybox $(dpkg-deb -f "$BDEB" Version), kernel modules $KVER)"
    rm -rf "$ROOTFS"
    mkdir -p "$ROOTFS"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,lib/modules}
    cp "$BUSYBOX" "$ROOTFS/bin/busybox"
    # applet symlinks, made at build time (busybox --list-full gives paths like usr/bin/awk)
    n=0
    while read -r path; do
        [ -e "$ROOTFS/$path" ] || [ -L "$ROOTFS/$path" ] && continue
        mkdir -p "$ROOTFS/$(dirname "$path")"
        ln -s /bin/busybox "$ROOTFS/$path"
        n=$((n + 1))
    done < <("$BUSYBOX" --list-full)
    [ -L "$ROOTFS/bin/sh" ] || die "busybox has no sh applet?"
    install -m 0755 "$ROOT/guest-initramfs/init" "$ROOTFS/init"
    for f in "$ROOT"/guest-initramfs/*; do # any extra files (e.g. etc/...) besides init
        case "${f##*/}" in init|README*) ;; *) cp -r "$f" "$ROOTFS/" ;; esac
    done
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOTFS/etc/passwd"
    printf 'root:x:0:\n' >"$ROOTFS/etc/group"
    # the virtio modules and everything they depend on (depends= in .modinfo)
    KMOD=$PKG/kernel/lib/modules/$KVER
    mods=$(python3 - "$KMOD" "${MODULES[@]}" <<'EOF'
import os, sys
root, wanted = sys.argv[1], sys.argv[2:]
idx = {}
for d, _, fs in os.walk(os.path.join(root, "kernel")):
    for f in fs:
        if f.endswith(".ko"):
            idx[f[:-3].replace("-", "_")] = os.path.join(d, f)
def deps(path):
    data = open(path, "rb").read()
    i = data.find(b"\0depends=")
    if i < 0:
        return []
    s = data[i + 9:data.index(b"\0", i + 1)].decode()
    return [x for x in s.split(",") if x]
out, todo = [], [w.replace("-", "_") for w in wanted]
while todo:
    m = todo.pop()
    if m in out:
        continue
    if m not in idx:
        print(f"module {m} not found (built in?)", file=sys.stderr)
        continue
    out.append(m)
    todo += [x.replace("-", "_") for x in deps(idx[m])]
for m in sorted(out):
    print(os.path.relpath(idx[m], root))
EOF
)
    for m in $mods; do
        mkdir -p "$ROOTFS/lib/modules/$KVER/$(dirname "$m")"
        cp "$KMOD/$m" "$ROOTFS/lib/modules/$KVER/$m"
    done
    cp "$KMOD"/modules.builtin "$KMOD"/modules.builtin.modinfo "$KMOD"/modules.order "$ROOTFS/lib/modules/$KVER/" 2>/dev/null || true
    if [ -n "$DEPMOD" ]; then
        "$DEPMOD" -b "$ROOTFS" "$KVER"
        depnote="modules.dep by depmod"
    else
        depnote="no depmod on the host: modules.dep not generated (install kmod)"
    fi
    say "$(echo "$mods" | wc -w) modules copied ($(echo "$mods" | xargs -n1 basename | tr '\n' ' ')); $depnote"
    say "$n busybox applet links"
    # Written aside and renamed: a VM booting from the cache meanwhile (another
    # checkout sharing it) sees the old archive or the new one, never half of one.
    python3 "$ROOT/scripts/mkcpio.py" --root "$ROOTFS" --out "$OUT.tmp" --node "dev/console c 5 1 0600" |
        sed 's/^/fetch-guest-assets: /'
    mv "$OUT.tmp" "$OUT"
    echo "$STAMP_LINE" >"$CACHE/rootfs.stamp"
fi

say "ready: .cache/guest/{vmlinuz,vmlinux,initramfs.cpio.gz} (kernel $KVER)"
