#!/usr/bin/env python3
"""Write a gzip-compressed newc cpio archive (an initramfs) from a directory.

Stdlib only, needs no root: owners are forced to 0:0, timestamps to a fixed
value (reproducible output), and device nodes are added from --node specs so
the staging tree never has to contain real device files.

  mkcpio.py --root DIR --out FILE.cpio.gz [--node 'dev/console c 5 1 0600'] ...
"""
import argparse
import gzip
import os
import stat
import sys


def _hdr(name, ino, mode, nlink, mtime, size, rmaj=0, rmin=0):
    namez = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, nlink, mtime, size, 0, 0, rmaj, rmin, len(namez), 0)
    h = b"070701" + b"".join(b"%08X" % f for f in fields) + namez
    return h + b"\0" * ((-len(h)) % 4)


def _pad(n):
    return b"\0" * ((-n) % 4)


def build(root, out, nodes, mtime, level):
    entries = []  # (name, mode, data, rmaj, rmin)
    seen_dirs = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if rel != ".":
            st = os.lstat(dirpath)
            entries.append((rel, stat.S_IFDIR | (st.st_mode & 0o7777), b"", 0, 0))
            seen_dirs.add(rel)
        for fn in sorted(filenames):
            p = os.path.join(dirpath, fn)
            name = fn if rel == "." else os.path.join(rel, fn)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                entries.append((name, stat.S_IFLNK | 0o777, os.readlink(p).encode(), 0, 0))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    entries.append((name, stat.S_IFREG | (st.st_mode & 0o7777), f.read(), 0, 0))
            else:
                sys.exit(f"mkcpio: unsupported file type: {p}")
        # symlinks to directories show up in dirnames; os.walk does not follow them
        for dn in list(dirnames):
            p = os.path.join(dirpath, dn)
            if os.path.islink(p):
                name = dn if rel == "." else os.path.join(rel, dn)
                entries.append((name, stat.S_IFLNK | 0o777, os.readlink(p).encode(), 0, 0))
                dirnames.remove(dn)
    for spec in nodes:
        parts = spec.split()
        if len(parts) != 5 or parts[1] not in ("c", "b"):
            sys.exit(f"mkcpio: bad --node spec {spec!r} (want 'path c|b major minor mode')")
        path, kind, maj, mino, mode = parts
        path = path.lstrip("/")
        parent = os.path.dirname(path)
        if parent and parent not in seen_dirs:
            entries.append((parent, stat.S_IFDIR | 0o755, b"", 0, 0))
            seen_dirs.add(parent)
        ftype = stat.S_IFCHR if kind == "c" else stat.S_IFBLK
        entries.append((path, ftype | int(mode, 8), b"", int(maj), int(mino)))

    tmp = out + ".tmp"
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=mtime) as gz:
            ino = 1
            for name, mode, data, rmaj, rmin in entries:
                nlink = 2 if stat.S_ISDIR(mode) else 1
                gz.write(_hdr(name, ino, mode, nlink, mtime, len(data), rmaj, rmin))
                gz.write(data)
                gz.write(_pad(len(data)))
                ino += 1
            gz.write(_hdr("TRAILER!!!", 0, 0, 1, 0, 0))
            gz.write(b"\0" * 512)
    os.replace(tmp, out)
    return len(entries)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--node", action="append", default=[], help="'path c|b major minor octal-mode'")
    ap.add_argument("--level", type=int, default=6, help="gzip level (default 6)")
    a = ap.parse_args()
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    n = build(a.root, a.out, a.node, mtime, a.level)
    print(f"mkcpio: {n} entries -> {a.out} ({os.path.getsize(a.out)} bytes)")


if __name__ == "__main__":
    main()
