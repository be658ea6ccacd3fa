#!/usr/bin/env bash
# Install what ringvm needs to build, test and fetch its default guest, on
# Debian 12.  Each package and why it is here: docs/DEPENDENCIES.md.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build   # compiler and build system
  cmake                                           # lets meson find Zydis (no .pc file)
  libcmocka-dev                                   # unit tests
  libzydis-dev                                    # reference decoder (soft CPU tests)
  libseccomp-dev                                  # seccomp-bpf filters per thread (src/sandbox)
  clang lld libclang-rt-14-dev                    # libFuzzer targets, sanitizer runtime
  python3                                         # test runners, bench harness
  cpio lz4 kmod file binutils                     # building the guest initramfs, vmlinux extraction
  qemu-system-x86                                 # bench/ comparison and cross-checks
  valgrind                                        # instruction counts for bench/
  libslirp-dev                                    # --net user: user-mode networking (libslirp)
  mmdebstrap e2fsprogs                            # scripts/build-debian-rootfs.sh: Debian root image, mke2fs -d
  liburing-dev                                    # virtio-blk asynchronous I/O (io_uring)
  libjansson-dev                                  # JSON: Firecracker config file and API
  libmicrohttpd-dev                               # HTTP server of the Firecracker API
  curl                                            # API tests (curl --unix-socket)
  iperf3                                          # bench/run --io: the host's iperf3 server
  iproute2                                        # linux-snapshot-net-soft: a TAP device in its own netns (ip tuntap)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
