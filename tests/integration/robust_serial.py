#!/usr/bin/env python3
"""Serial output into a peer that never reads must not wedge ringvm.

A guest prints without end (serial-flood-forever) into
  - --serial file:FIFO whose reader holds the FIFO open and never reads,
  - --serial stdio with stdout a pipe nobody reads (`ringvm ... | sleep`),
  - --serial stdio on a terminal whose master side nobody reads,
then a signal (SIGTERM, SIGINT, SIGHUP) must end ringvm within 3 s with
status 128+N and "stopped by signal"; --stats must count dropped output.
Also: --serial file: on a FIFO with no reader fails at once (status 2, one
line) instead of blocking in open().
Usage: robust_serial.py path/to/ringvm     (exit 0 pass, 1 fail, 77 skip)
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ringvm = os.path.abspath(sys.argv[1])
guest = os.path.join(os.path.dirname(ringvm), 'guests', 'guest-mb64.elf')
if not os.path.exists(guest):
    print('SKIP: %s not built' % guest)
    sys.exit(77)
base = [ringvm, 'run', '--kernel', guest, '--engine', 'soft', '--testdev',
        '--cmdline', 'test=serial-flood-forever', '--stats', '--verbose']
failures = []


def check(cond, what):
    print(('ok: ' if cond else 'FAIL: ') + what)
    if not cond:
        failures.append(what)


def stop_and_check(name, p, err_path, sig, during=None):
    """p floods for a while; then sig must end it quickly and cleanly."""
    deadline = time.monotonic() + 10
    flooding = False
    while time.monotonic() < deadline and p.poll() is None:
        with open(err_path) as f:
            if 'testdev: sync flood forever' in f.read():
                flooding = True
                break
        time.sleep(0.1)
    time.sleep(1.5)  # long enough to fill the pipe and the ring many times
    check(flooding and p.poll() is None, '%s: guest flooding, ringvm still running' % name)
    if during:
        during()
    t0 = time.monotonic()
    p.send_signal(sig)
    try:
        status = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        check(False, '%s: %s did not end ringvm within 5 s (killed)' % (name, sig.name))
        return
    dt = time.monotonic() - t0
    with open(err_path) as f:
        err = f.read()
    check(status == 128 + sig.value,
          '%s: status %d after %s (want %d)' % (name, status, sig.name, 128 + sig.value))
    check(dt < 3.0, '%s: ended %.2f s after %s (want < 3 s)' % (name, dt, sig.name))
    check('stopped by signal' in err, '%s: says "stopped by signal"' % name)
    m = re.search(r'serial \S+\s+out (\d+) bytes, (\d+) dropped', err)
    check(m is not None and int(m.group(2)) > 0,
          '%s: --stats counts dropped output (%s)' % (name, m.group(0) if m else 'no serial line'))


with tempfile.TemporaryDirectory() as tmp:
    fifo = os.path.join(tmp, 'serial.fifo')
    os.mkfifo(fifo)

    # 1. A FIFO with no reader: one line, status 2, no blocking in open().
    t0 = time.monotonic()
    quiet = [a for a in base if a not in ('--verbose', '--stats')]
    r = subprocess.run(quiet + ['--serial', 'file:' + fifo], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    out = r.stdout.decode(errors='replace').strip()
    check(r.returncode == 2 and 'a FIFO with no reader' in out and len(out.splitlines()) == 1,
          'FIFO without reader: status %d, %r' % (r.returncode, out))
    check(time.monotonic() - t0 < 5, 'FIFO without reader: no wait')

    # 2. A FIFO whose reader never reads, SIGTERM.
    rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    err_path = os.path.join(tmp, 'err1')
    with open(err_path, 'w') as err:
        p = subprocess.Popen(base + ['--serial', 'file:' + fifo], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
    stop_and_check('FIFO never read', p, err_path, signal.SIGTERM)
    os.close(rd)

    # 3. stdout a pipe nobody reads (ringvm ... | sleep), SIGTERM, SIGINT, SIGHUP.
    for n, sig in enumerate([signal.SIGTERM, signal.SIGINT, signal.SIGHUP]):
        rfd, wfd = os.pipe()
        err_path = os.path.join(tmp, 'err-pipe%d' % n)
        with open(err_path, 'w') as err:
            p = subprocess.Popen(base + ['--serial', 'stdio'], stdin=subprocess.DEVNULL,
                                 stdout=wfd, stderr=err)
        os.close(wfd)
        stop_and_check('stdout pipe never read (%s)' % sig.name, p, err_path, sig)
        os.close(rfd)

    # 4. A terminal that stops taking output (nobody reads the pty master,
    #    as with a hung terminal emulator or Ctrl-S): SIGTERM still ends
    #    ringvm at once, and the terminal's settings are restored.
    import termios
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    err_path = os.path.join(tmp, 'err-pty')
    with open(err_path, 'w') as err:
        p = subprocess.Popen(base + ['--serial', 'stdio'], stdin=slave, stdout=slave,
                             stderr=err)
    def raw_while_running():
        lflag = termios.tcgetattr(slave)[3]
        check(not (lflag & termios.ECHO) and not (lflag & termios.ICANON),
              'terminal never read: raw while ringvm runs')
    stop_and_check('terminal never read', p, err_path, signal.SIGTERM, raw_while_running)
    after = termios.tcgetattr(slave)
    check(after == before, 'terminal never read: terminal settings restored')
    os.close(slave)
    os.close(master)

print('%d failed' % len(failures))
sys.exit(1 if failures else 0)
