"""PUSH m64, PUSH imm and LEAVE in translated blocks (guests/tests_stackops.c):
a #PF on the source or on the stack slot, LEAVE's #PF and #SS, each at the
instruction's RIP with RSP and RBP unchanged (64-bit images)."""
DONE = r'test guest done'
_64 = ['64']
CASES = {
    'stack-push-fault': dict(status=0, stderr=[DONE], images=_64),
    'stack-leave-fault': dict(status=0, stderr=[DONE], images=_64),
}
