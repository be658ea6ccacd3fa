#!/bin/bash
# Build a Debian 12 (bookworm) root filesystem image for ringvm's virtio-blk
# disk, from Debian packages, into the git-ignored cache:
#   .cache/guest/debian-rootfs.ext4   ext4 image, no partition table (/dev/vda)
#   .cache/guest/debian-rootfs.tar    the mmdebstrap output it is made from
# Nothing is mounted: mmdebstrap writes a tarball, which is unpacked into a
# staging tree (as root, keeping owners), ringvm's files are added, and
# `mke2fs -d` copies the tree into the image.
# Boot it with the default kernel and initramfs plus `ringvm.root=/dev/vda`
# (docs/guest-assets.md, "Debian from a disk").
# Idempotent: re-uses the image while this script and the package list are
# unchanged.
#   --force        rebuild even if the image is up to date
#   --size SIZE    image size for mke2fs (default 1G; the file is sparse)
#   --quiet        only print what is done, not what is re-used
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$ROOT/.cache/guest
OUT=$CACHE/debian-rootfs.ext4
TAR=$CACHE/debian-rootfs.tar
STAMP=$CACHE/debian-rootfs.stamp
FORCE=0
QUIET=0
SIZE=1G
while [ $# -gt 0 ]; do
    case "$1" in
    --force) FORCE=1 ;;
    --quiet|-q) QUIET=1 ;;
    --size) shift; SIZE=${1:?--size needs a value} ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "build-debian-rootfs: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "build-debian-rootfs: $*"; }
die() { echo "build-debian-rootfs: error: $*" >&2; exit 1; }

command -v mmdebstrap >/dev/null || die "mmdebstrap is required (apt-get install mmdebstrap)"
command -v mke2fs >/dev/null || [ -x /sbin/mke2fs ] || die "mke2fs is required (e2fsprogs)"
MKE2FS=$(command -v mke2fs || echo /sbin/mke2fs)

# A small userland that boots quickly on the soft engine:
#   sysvinit-core  init (/etc/inittab below: a root shell on the console)
#   ifupdown, udhcpc  eth0 by DHCP from the user-mode network (10.0.2.15)
#   busybox        wget and httpd for the network tests
#   iproute2, procps, netbase  ip, ps, /etc/services
#   fio, iperf3    the disk and network benchmarks (bench/)
PACKAGES=sysvinit-core,ifupdown,udhcpc,busybox,iproute2,procps,netbase,fio,iperf3
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
want="$SUITE $PACKAGES $SIZE $(sha256sum "$0" | cut -c1-16)"

if [ "$FORCE" = 0 ] && [ -s "$OUT" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    [ "$QUIET" = 1 ] || say "re-using .cache/guest/debian-rootfs.ext4 (up to date)"
    exit 0
fi
mkdir -p "$CACHE"

# The customize hook: the Debian side of the configuration ("$1" is the root
# directory).  ringvm's own files are added when the image is made (below),
# so changing them does not download the packages again.
read -r -d '' HOOK <<'EOS' || true
set -e
r=$1
echo ringvm-debian >"$r/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 ringvm-debian\n' >"$r/etc/hosts"
printf 'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\nauto eth0\niface eth0 inet dhcp\n' \
    >"$r/etc/network/interfaces"
printf '/dev/vda / ext4 rw,relatime 0 1\n' >"$r/etc/fstab"
# No password for root: this is a test guest on a private console.
chroot "$r" passwd -d root >/dev/null
# No hardware clock, no console setup to wait for in a VM.
rm -f "$r"/etc/rc2.d/S*iperf3 "$r"/etc/rcS.d/S*hwclock* 2>/dev/null || true
EOS

# Two cached stages: the tarball (keyed by suite, packages and the hook) and
# the image made from it (keyed by the tarball and the size).
want_tar="$SUITE $PACKAGES $(printf '%s' "$HOOK" | sha256sum | cut -c1-16)"
if [ "$FORCE" = 0 ] && [ -f "$TAR" ] && [ -f "$TAR.stamp" ] && [ "$(cat "$TAR.stamp")" = "$want_tar" ]; then
    [ "$QUIET" = 1 ] || say "re-using .cache/guest/debian-rootfs.tar"
else
    say "running mmdebstrap ($SUITE, minbase + $PACKAGES) into .cache/guest/debian-rootfs.tar"
    rm -rf "$TAR.tmp"
    mmdebstrap --quiet --variant=minbase --format=tar --include="$PACKAGES" \
        --customize-hook="$HOOK" \
        --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
        "$SUITE" "$TAR.tmp" "$MIRROR" || die "mmdebstrap failed (network access to $MIRROR?)"
    rm -rf "$TAR"
    mv "$TAR.tmp" "$TAR"
    echo "$want_tar" >"$TAR.stamp"
fi

# ringvm's files in the tree: sysvinit runs rcS (filesystems, eth0 by DHCP),
# then the ready marker, then runlevel 2's services, and keeps a root shell
# on the console (ttyS0 or hvc0, whichever the kernel uses).
ringvm_files() { # $1 = root directory
    cat >"$1/etc/inittab" <<'EOF'
# ringvm (scripts/build-debian-rootfs.sh): rcS, the ready marker, runlevel 2,
# a root shell on the console.
id:2:initdefault:
si::sysinit:/etc/init.d/rcS
rv:2:wait:/usr/local/sbin/ringvm-ready
l2:2:wait:/etc/init.d/rc 2
co:2:respawn:/sbin/agetty --autologin root --noclear console 115200 linux
ca:12345:ctrlaltdel:/sbin/shutdown -t1 -a -r now
EOF
    mkdir -p "$1/usr/local/sbin"
    cat >"$1/usr/local/sbin/ringvm-ready" <<'EOF'
#!/bin/sh
# Prints RINGVM-DEBIAN-OK with the uptime and eth0's address once rcS has
# mounted the filesystems and brought the network up; ringvm.test=poweroff on
# the kernel command line powers the guest off right after it (tests).
read -r up _ </proc/uptime
addr=$(ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}')
echo "RINGVM-DEBIAN-OK uptime=$up eth0=${addr:-none} $(. /etc/os-release; echo "$PRETTY_NAME")" >/dev/console
case " $(cat /proc/cmdline) " in
*" ringvm.test=poweroff "*) /sbin/poweroff -f ;;
esac
exit 0
EOF
    chmod 0755 "$1/usr/local/sbin/ringvm-ready"
}

say "making the ext4 image ($SIZE, sparse) with mke2fs -d"
# The tarball is unpacked into a staging tree (as root, to keep the owners:
# Debian 12's mke2fs cannot read tarballs itself) where ringvm's files are
# added; nothing is mounted.
[ "$(id -u)" = 0 ] || die "unpacking the tarball with its owners needs root"
STAGE=$CACHE/debian-rootfs.stage
rm -rf "$STAGE" "$OUT.tmp"
mkdir -p "$STAGE"
tar --numeric-owner -xpf "$TAR" -C "$STAGE" || die "cannot unpack the tarball"
ringvm_files "$STAGE"
"$MKE2FS" -q -t ext4 -L ringvm-root -d "$STAGE" "$OUT.tmp" "$SIZE" >/dev/null ||
    die "mke2fs -d failed"
rm -rf "$STAGE"
mv "$OUT.tmp" "$OUT"
echo "$want" >"$STAMP"
say "ready: .cache/guest/debian-rootfs.ext4 ($(du -h "$OUT" | cut -f1) used of $SIZE)"
