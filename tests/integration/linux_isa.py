#!/usr/bin/env python3
"""An instruction-set check in the Linux guest, translated and interpreted,
against the host (issue 9's "Checks that will be made").

    linux_isa.py --ringvm build/ringvm [--engine soft] [--tiers jit,interp]

Builds tests/integration/guest_isa.c statically (integer ALU, shifts and
rotates, multiply/divide with #DE, bit operations, exchanges, SETcc/CMOVcc,
string operations, flag moves, ADX/BMI, SSE..SSE4.2 and x87 arithmetic under
every rounding mode; one hash line per group), runs it on the host for the
expected lines, then boots the default guest once per soft tier with user
networking, downloads the program from an HTTP server on the host and runs
it there.  Every tier must print exactly the host's lines.  On a mismatch
the guest re-runs the differing group verbosely and diffs it against the
host's verbose output (downloaded too), so the failure names the cases.
Exit 77 (skip) when the engine cannot run here, no compiler builds static
programs, or the host lacks an extension the program needs."""
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

CPU_LINE = "isa: cpu sse4.2+popcnt+cx16+bmi1+bmi2+adx+lzcnt=1"


def build(tmp):
    # -mno-red-zone: the program's asm pushes RFLAGS below RSP
    out = ln.build_static(tmp, "guest_isa.c", "gisa", ["-O2", "-mno-red-zone"], "the ISA program",
                          "the static ISA program")
    r = subprocess.run([out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = [l for l in r.stdout.splitlines() if l.startswith("isa: ")]
    if CPU_LINE not in lines:
        print(f"SKIP: the host lacks an extension the ISA program needs: {lines[:1]}")
        sys.exit(77)
    if r.returncode != 0 or lines[-1] != "isa: done":
        sys.exit(f"FAIL: the ISA program fails on the host (status {r.returncode}): {r.stdout[-500:]}")
    return lines


def run_tier(a, tier, want, tmp, hport):
    extra = ["--net", "user"]
    if a.engine == "soft":
        extra += ["--soft-tier", tier]
    g, pos = ln.boot_to_shell(a.ringvm, a.engine, extra)
    t_boot = time.monotonic() - g.t0
    g.type(ln.fetch_program_cmd(hport, "gisa") + " && /tmp/gisa; echo ISA\"\"-DONE")
    end = g.wait_for("ISA-DONE", pos)
    t_prog = time.monotonic() - g.t0 - t_boot
    got = [l.strip() for l in g.text()[pos:end].splitlines() if l.strip().startswith("isa: ")]
    bad = []
    if got != want:
        wmap = {l.split()[1]: l for l in want}
        gmap = {l.split()[1]: l for l in got}
        bad = [k for k in wmap if gmap.get(k) != wmap[k]]
        # the differing cases of the first few groups: the guest diffs its
        # verbose output against the host's
        for grp in bad[:3]:
            if grp in ("cpu", "done"):
                continue
            v = subprocess.run([os.path.join(tmp, "gisa"), "-v", "-g", grp],
                               stdout=subprocess.PIPE, text=True).stdout
            with open(os.path.join(tmp, f"v-{grp}"), "w") as f:
                f.write(v)
            mark = g.wait_for("/ # ", end)
            g.type(f"wget -q -O /tmp/v-host http://10.0.2.2:{hport}/v-{grp} && "
                   f"/tmp/gisa -v -g {grp} > /tmp/v-guest; "
                   f"diff /tmp/v-host /tmp/v-guest | grep '^[-+][a-z]' | head -12; echo DIFF\"\"-DONE")
            end = g.wait_for("DIFF-DONE", mark + 1)
        print(g.text()[pos:][-6000:])
        missing = [k for k in bad]
        g.fail(f"{tier}: {len(bad)} groups differ from the host: {missing}")
    status = g.finish()
    if status != 0:
        g.fail(f"{tier}: exit status {status}, want 0")
    return f"{tier}: boot {t_boot:.1f} s, program {t_prog:.1f} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringvm", required=True)
    ap.add_argument("--engine", default="soft")
    ap.add_argument("--tiers", default="jit,interp",
                    help="soft tiers to run, comma-separated (jit, interp)")
    a = ap.parse_args()
    tiers = [t for t in a.tiers.split(",") if t]
    for t in tiers:
        if t not in ("jit", "interp"):
            print(f"linux_isa.py: --tiers {t}: expected jit or interp", file=sys.stderr)
            sys.exit(2)
    lb.fetch_assets()
    tmp = tempfile.mkdtemp(prefix="ringvm-isa-")
    try:
        want = build(tmp)
        httpd = ln.serve(tmp)
        hport = httpd.server_address[1]
        took = []
        for t in (tiers if a.engine == "soft" else ["-"]):
            took.append(run_tier(a, t, want, tmp, hport))
        print(f"PASS: the ISA program on {a.engine} ({'; '.join(took)}) matches the host "
              f"({len(want) - 2} groups, {sum(int(l.split()[3]) for l in want if len(l.split()) == 4)} cases)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
