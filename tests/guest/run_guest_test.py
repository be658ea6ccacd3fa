#!/usr/bin/env python3
"""Boot one ringvm test guest (guests/) for one case and check the result.

Usage (meson passes these; see tests/guest/meson.build):
  run_guest_test.py --ringvm PATH --image PATH --engine kvm|soft --case NAME
                    [--timeout SECONDS] [--keep]

Runs `ringvm run --kernel IMAGE --cmdline test=TEST --engine ENGINE --testdev
--serial file:TMP --verbose ...`, then checks the exit status, stderr (ringvm's
messages, including testdev's sync/assert lines) and the serial output against
the case table below.  Exit 0 pass, 1 fail, 77 skip (engine unusable here:
never a vacuous pass).  Standard library only.
"""
import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77

# case name -> what to run and what must come out.
#   test     guest test name (guests/tests.c), default: the case name
#   args     extra ringvm options
#   status   expected exit status
#   stderr   regexes that must match ringvm's stderr (+stdout)
#   serial   regexes that must match the serial output
#   absent   regexes that must NOT match stderr
#   stderr_on / absent_on  {engine: [regexes]}: as stderr / absent, only
#            when running on that engine (engine-specific paths)
#   images   restrict to images whose name contains one of these
#   files    {name: size}: zero-filled files made in the case's temporary
#            directory before the run; '{tmp}' in args names that directory
#   env      extra environment variables for ringvm
#   max_rss_mb  ringvm's peak resident memory must stay at or below this
#               (MiB; not checked under ASan, whose shadow and quarantine
#               are not ringvm's)
#   max_own_mb  ringvm's own memory (resident, guest RAM excluded: the Rss
#               of /proc/PID/smaps less guest RAM's mapping and memfds, i.e.
#               RssAnon + RssFile without guest RAM), sampled every 10 ms,
#               must stay at or below this (MiB; not checked under ASan)
#   max_count  {regex: N}: at most N lines of ringvm's output match regex
#              (rate-limited messages)
DONE = r'test guest done'
CASES = {
    'uart': dict(status=0,
                 serial=[r'uart: The quick brown fox jumps over the lazy dog 0123456789\r?\n'],
                 stderr=[r'testdev: sync uart 0x55aa', DONE]),
    'pio': dict(status=0, stderr=[r'testdev: sync rtc seconds 0x[0-9a-f]+', DONE]),
    'mmio': dict(status=0, stderr=[DONE]),
    'mmio-unmapped': dict(args=['--strict-mmio'], status=4,
                          stderr=[r'(?i)unclaimed guest-physical address 0x0*fd000000'],
                          absent=[DONE]),
    # The PIT's ticks through the 8259 alone (the IOAPIC untouched, all
    # masked): --stats counts them at the CPU's INTA cycle (soft's board
    # irqchip; kvm's irqchip is in the kernel), ten ticks at least.
    'hlt-irq': dict(status=0, args=['--stats'], stderr=[r'testdev: sync ticks 0xa\b', DONE],
                    stderr_on={'soft': [r'board irqchip: 0 IOAPIC interrupt messages, 0 MSIs, '
                                        r'[1-9]\d+ 8259 interrupts \(INTA\)']}),
    'hlt-noirq': dict(status=4, stderr=[r'(?i)halted.*interrupts.*disabled'], absent=[DONE]),
    'debug-exit': dict(status=0x43, absent=[DONE]),
    'reset': dict(args=['--on-reset', 'restart'], status=0,
                  stderr=[r'testdev: sync reset count 0x0\b',
                          r'testdev: sync reset count 0x1\b', DONE],
                  serial=[r'(?s)test: reset.*test: reset']),
    'reset-exit': dict(test='reset', args=['--on-reset', 'exit'], status=0,
                       stderr=[r'testdev: sync reset count 0x0\b',
                               r'(?i)reset the machine|machine reset'],
                       absent=[r'testdev: sync reset count 0x1', DONE]),
    'triple-fault': dict(status=4, stderr=[r'testdev: sync reset count 0x0\b',
                                           r'(?i)triple fault', r'rip='],
                         absent=[r'reset count 0x1', DONE]),
    'triple-fault-reset': dict(test='triple-fault', args=['--on-triple-fault', 'reset'], status=0,
                               stderr=[r'testdev: sync reset count 0x0\b',
                                       r'testdev: sync reset count 0x1\b', DONE]),
    'assert-fail': dict(status=8,
                        stderr=[r'guest assertion failed: tests\.c:\d+: two \+ two == 5 '
                                r'\(0x4, 0x5, 0x0, 0x0\)'],
                        absent=[DONE]),
    'exception': dict(status=8,
                      stderr=[r'guest assertion failed: idt\.c:\d+: unexpected exception '
                              r'\(vector, error code, ip\) \(0x6, 0x0, 0x10[0-9a-f]{4}, 0x0\)'],
                      absent=[DONE]),
    'longmode': dict(status=0, stderr=[r'testdev: sync long mode arithmetic ok '
                                       r'0x236d88fe5618cf00', DONE],
                     images=['64']),
}


def load_topic_cases():
    """Each tests/guest/cases_<topic>.py defines CASES too (same keys)."""
    import glob
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, 'cases_*.py'))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for k, v in mod.CASES.items():
            if k in CASES:
                raise SystemExit('FAIL: case %s defined twice (%s)' % (k, path))
            CASES[k] = v


load_topic_cases()


def skip(msg):
    print('SKIP: ' + msg)
    sys.exit(SKIP)


def check_engine(engine):
    """Skip when the engine cannot run here (never pass vacuously)."""
    if engine == 'kvm':
        if not os.path.exists('/dev/kvm'):
            skip('/dev/kvm does not exist (no KVM on this host)')
        try:
            fd = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
            os.close(fd)
        except OSError as e:
            skip('/dev/kvm is not usable: %s' % e)


def sanitized(path):
    """True for an ASan build of ringvm (its memory is not ringvm's own)."""
    try:
        with open(path, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


def own_rss_kib(pid, guest_bytes):
    """Resident KiB of pid's mappings, less guest RAM (ringvm's default
    backend: one anonymous mapping of exactly the guest's size) and shared
    memory (a memfd: guest RAM with --memory-backend memfd, the translation
    cache), i.e. RssAnon + RssFile without guest RAM; None when gone."""
    total = 0
    try:
        with open('/proc/%d/smaps' % pid) as f:
            skip = False
            for line in f:
                head = line.split(None, 5)
                if head and '-' in head[0] and line[0] in '0123456789abcdef':
                    lo, hi = (int(x, 16) for x in head[0].split('-'))
                    path = head[5].strip() if len(head) > 5 else ''
                    anon = path == '' or path.startswith('[anon')
                    skip = (anon and hi - lo == guest_bytes) or path.startswith('/memfd:') \
                        or path.startswith('/dev/shm/') or path.startswith('/SYSV')
                elif not skip and line.startswith('Rss:'):
                    total += int(line.split()[1])
    except (OSError, ValueError):
        return None
    return total


def guest_memory_bytes(cmd):
    """The --memory of a ringvm command line (its last one), in bytes."""
    mem = '512M'
    for i, a in enumerate(cmd[:-1]):
        if a in ('--memory', '-m'):
            mem = cmd[i + 1]
    m = re.match(r'^(\d+)([KMG]?)$', mem)
    if not m:
        return 0
    return int(m.group(1)) << {'K': 10, '': 20, 'M': 20, 'G': 30}[m.group(2)]


def own_memory_sampler(pid, peak, guest_bytes):
    """Sample ringvm's own resident memory (not guest RAM) until it exits;
    peak[0] gets the largest own_rss_kib seen."""
    path = '/proc/%d/status' % pid
    while True:
        try:
            with open(path) as f:
                st = f.read()
        except OSError:
            return
        if 'State' in st and re.search(r'^State:\s+Z', st, re.M):
            return
        own = own_rss_kib(pid, guest_bytes)
        if own is None:
            return
        peak[0] = max(peak[0], own)
        time.sleep(0.01)


def run(args):
    case = CASES[args.case]
    test = case.get('test', args.case)
    img = os.path.basename(args.image)
    if 'images' in case and not any(s in img for s in case['images']):
        print('FAIL: case %s does not apply to image %s (fix tests/guest/meson.build)'
              % (args.case, img))
        return 1
    check_engine(args.engine)

    tmp = tempfile.mkdtemp(prefix='ringvm-guest-')
    serial_path = os.path.join(tmp, 'serial.txt')
    cmdline = 'test=' + test
    if args.engine != 'kvm':
        # Real IRET in 32-bit guests; kvm_pvm cannot emulate it (guests/lib/isr32.S).
        cmdline += ' iret=1'
    cmd = [args.ringvm, 'run', '--kernel', args.image, '--cmdline', cmdline,
           '--engine', args.engine, '--memory', '32M', '--testdev',
           '--serial', 'file:' + serial_path, '--verbose'] + \
        [a.replace('{tmp}', tmp) for a in case.get('args', [])]
    for name, size in case.get('files', {}).items():
        with open(os.path.join(tmp, name), 'wb') as f:
            f.truncate(size)
    env = dict(os.environ, **case.get('env', {}))
    print('$ ' + ' '.join(cmd))
    # RINGVM_SOFT_TIER=interp|jit: the soft engine's execution tier (read by
    # this runner; ringvm takes --soft-tier)
    tier = os.environ.get('RINGVM_SOFT_TIER', '')
    if tier not in ('', 'interp', 'jit'):
        print('FAIL: RINGVM_SOFT_TIER=%s: expected interp or jit' % tier)
        return 1
    if tier and args.engine == 'soft':
        cmd += ['--soft-tier', tier]
        print('  ... --soft-tier %s (RINGVM_SOFT_TIER)' % tier)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True, env=env)
    timed_out = False
    own_peak = [0]
    sampler = threading.Thread(target=own_memory_sampler,
                               args=(p.pid, own_peak, guest_memory_bytes(cmd)), daemon=True)
    sampler.start()
    try:
        out, _ = p.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
    elapsed = time.monotonic() - t0
    out = out.decode('utf-8', 'replace')
    try:
        with open(serial_path, 'rb') as f:
            serial = f.read().decode('utf-8', 'replace')
    except OSError:
        serial = ''

    status = p.returncode
    print('--- ringvm output (%.2f s, exit status %s) ---' % (elapsed, status))
    print(out.rstrip())
    print('--- serial ---')
    print(serial.rstrip())
    print('---')

    errors = []
    if timed_out:
        errors.append('timed out after %g s' % args.timeout)
    elif status != case['status']:
        # An unusable engine is a skip, not a failure (the message says why).
        if (status == 2 and re.search(r'(?i)engine|kvm', out) and
                re.search(r'(?i)not available|unavailable|cannot|unusable|no such', out)):
            skip('engine %s is not usable here: %s' % (args.engine, out.strip()))
        errors.append('exit status %s, expected %s (0x%x)'
                      % (status, case['status'], case['status']))
    for rx in case.get('stderr', []):
        if not re.search(rx, out):
            errors.append('ringvm output lacks /%s/' % rx)
    for rx in case.get('stderr_on', {}).get(args.engine, []):
        if not re.search(rx, out):
            errors.append('ringvm output lacks /%s/ (engine %s)' % (rx, args.engine))
    for rx in case.get('absent', []) + case.get('absent_on', {}).get(args.engine, []):
        if re.search(rx, out):
            errors.append('ringvm output unexpectedly has /%s/' % rx)
    for rx, most in case.get('max_count', {}).items():
        n = sum(1 for line in out.splitlines() if re.search(rx, line))
        print('%d lines match /%s/ (at most %d)' % (n, rx, most))
        if n > most:
            errors.append('%d lines match /%s/, at most %d expected' % (n, rx, most))
    if 'max_rss_mb' in case and not timed_out:
        # ringvm is the only child this runner waited for: its peak RSS.
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        if sanitized(args.ringvm):
            print('peak RSS %.1f MiB (budget %d MiB not checked: sanitizer build)'
                  % (rss_mb, case['max_rss_mb']))
        else:
            print('peak RSS %.1f MiB (budget %d MiB)' % (rss_mb, case['max_rss_mb']))
            if rss_mb > case['max_rss_mb']:
                errors.append('peak RSS %.1f MiB over the budget of %d MiB'
                              % (rss_mb, case['max_rss_mb']))
    sampler.join(timeout=1)
    if 'max_own_mb' in case and not timed_out:
        own_mb = own_peak[0] / 1024.0
        if sanitized(args.ringvm):
            print('own memory %.1f MiB (budget %d MiB not checked: sanitizer build)'
                  % (own_mb, case['max_own_mb']))
        else:
            print('own memory (resident, guest RAM excluded) %.1f MiB (budget %d MiB)'
                  % (own_mb, case['max_own_mb']))
            if own_peak[0] == 0:
                # Ended before the first sample: max_rss_mb still bounds it.
                print('own memory not sampled (ringvm ran %.2f s)' % elapsed)
            elif own_mb > case['max_own_mb']:
                errors.append('own memory %.1f MiB over the budget of %d MiB'
                              % (own_mb, case['max_own_mb']))
    # Every case must show that the guest ran the requested test.
    for rx in [r'ringvm test guest \(', r'test: ' + re.escape(test) + r'\r?\n'] + \
            case.get('serial', []):
        if not re.search(rx, serial):
            errors.append('serial output lacks /%s/' % rx)

    if args.keep:
        print('kept ' + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        for e in errors:
            print('FAIL: ' + e)
        return 1
    print('PASS: %s on %s with engine %s (%.2f s)' % (args.case, img, args.engine, elapsed))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ringvm', required=True)
    ap.add_argument('--image', required=True)
    ap.add_argument('--engine', required=True)
    ap.add_argument('--case', required=True, choices=sorted(CASES))
    ap.add_argument('--timeout', type=float, default=30.0)
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory')
    args = ap.parse_args()
    sys.exit(run(args))


if __name__ == '__main__':
    main()
