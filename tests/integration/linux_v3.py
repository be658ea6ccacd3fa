#!/usr/bin/env python3
"""An x86-64-v3 userland program in the Linux guest (issue 8's check).

    linux_v3.py --ringvm build/ringvm [--engine soft]

Builds tests/integration/guest_v3.c statically with -march=x86-64-v3 (AVX2
and FMA loops from the vectoriser, BMI2/LZCNT/F16C/FMA intrinsics, glibc's
AVX2 string routines), runs it on the host for the expected output, boots
the default guest with user networking, downloads the program from an HTTP
server on the host and runs it there.  The guest must print exactly the
host's lines, including that the CPU has AVX2, FMA, BMI2 and F16C.
Exit 77 (skip) when the engine cannot run here, no compiler builds static
programs, or the host itself cannot run x86-64-v3 code."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import linux_boot as lb  # noqa: E402
import linux_net as ln  # noqa: E402


def build(tmp):
    out = ln.build_static(tmp, "guest_v3.c", "gv3", ["-O3", "-march=x86-64-v3"],
                          "the x86-64-v3 program", "a static x86-64-v3 program")
    r = subprocess.run([out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(f"SKIP: the host cannot run x86-64-v3 code (status {r.returncode})")
        sys.exit(77)
    lines = [l for l in r.stdout.splitlines() if l.startswith("v3: ")]
    if "v3: cpu avx2=1 fma=1 bmi2=1 f16c=1" not in lines:
        print(f"SKIP: the host lacks part of x86-64-v3: {lines}")
        sys.exit(77)
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    a = ap.parse_args()
    lb.fetch_assets()
    tmp = tempfile.mkdtemp(prefix="ringvm-v3-")
    try:
        want = build(tmp)
        httpd = ln.serve(tmp)
        hport = httpd.server_address[1]
        g, pos = ln.boot_to_shell(a.ringvm, a.engine, ["--net", "user"])
        g.type(ln.fetch_program_cmd(hport, "gv3") + " && /tmp/gv3 && echo V3\"\"-DONE")
        end = g.wait_for("V3-DONE", pos)
        got = [l.strip() for l in g.text()[pos:end].splitlines() if l.strip().startswith("v3: ")]
        if got != want:
            g.fail(f"the guest printed {got}, the host {want}")
        status = g.finish()
        if status != 0:
            g.fail(f"exit status {status}, want 0")
        print(f"PASS: an x86-64-v3 program on {a.engine} matches the host "
              f"({len(want)} lines) in {time.monotonic() - g.t0:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
