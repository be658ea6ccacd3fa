"""Guest cases of the CPU-model topic (guests/tests_cpumodel.c).

cpuid-model: soft engine, 64-bit images.  Every CPUID feature bit with an
instruction is set exactly when the instruction executes (#UD otherwise);
then 20 UD2 and one LOCK NOP, which --stats must name by instruction
identity (UD2 first, the most frequent) and as an undefined encoding."""

CASES = {
    'cpuid-model': dict(args=['--stats'], status=0, images=['64'],
                        stderr=[r'testdev: sync cpuid-model features present 0x[0-9a-f]+',
                                r'vCPU 0 #UD by instruction: ud2 20 ',
                                r'vCPU 0 #UD by instruction:.*\(undefined encoding\) [1-9]',
                                r'test guest done'],
                        absent=[r'guest assertion failed']),
}
