"""Hardware task switching and virtual-8086 mode (guests/tests_task.c).

32-bit images only.  Each guest test checks the architectural state itself
(GUEST_ASSERT) and syncs one value at the end; the runner requires that sync
and the test device's DONE."""
DONE = r'test guest done'
NO_FAIL = [r'guest assertion failed', r'(?i)not modelled', r'(?i)triple fault']


def _case(sync):
    return dict(status=0, stderr=[r'testdev: sync ' + sync, DONE], absent=NO_FAIL,
                images=['32'])


CASES = {
    'task-jmp': _case(r'task jmp ok 0x1\b'),
    'task-call': _case(r'task call ok 0x28\b'),
    'task-df': _case(r'double-fault task ok 0x10[0-9a-f]{4}\b'),
    'task-busy': _case(r'task busy ok 0x5\b'),
    'task-ts': _case(r'task ts ok 0x3\b'),
    'task-tbit': _case(r'task T bit ok 0x[0-9a-f]*[89abcdef][0-9a-f]{3}\b'),
    'v86': _case(r'v86 ok 0x5\b'),
    'v86-vme': _case(r'v86 vme ok 0x2\b'),
}
