/* Guest library: strings, COM1, test device calls, boot protocol parsing,
 * and the C entry point called by head32.S / head64.S. */
#include "guest.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_INFO_CMDLINE     (1u << 2)
#define PVH_START_MAGIC            0x336ec578u

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, (size_t)-1);
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

/* ---- COM1 ------------------------------------------------------------- */
void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* IER: no interrupts */
	outb(COM1 + 3, 0x80); /* LCR: DLAB */
	outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x07); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS; OUT2 off: no IRQ */
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	/* Wait for THR empty, boundedly: a missing UART reads 0xff. */
	for (unsigned i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

void serial_put_hex(uint64_t v)
{
	char buf[19];
	int i = 18;
	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	serial_puts(&buf[i]);
}

void serial_put_dec(uint32_t v)
{
	char buf[11];
	int i = 10;
	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	serial_puts(&buf[i]);
}

/* ---- Test device ------------------------------------------------------ */
/* One call block: the guest is single-threaded and calls are synchronous. */
static struct testdev_call td_call __attribute__((aligned(64)));

static void copy_bounded(char *dst, size_t size, const char *src)
{
	size_t i = 0;
	if (src)
		for (; i + 1 < size && src[i]; i++)
			dst[i] = src[i];
	memset(dst + i, 0, size - i);
}

static void td_send(uint32_t cmd, const char *file, uint32_t line, const char *msg,
		    uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	td_call.cmd = cmd;
	td_call.line = line;
	td_call.arg[0] = a0;
	td_call.arg[1] = a1;
	td_call.arg[2] = a2;
	td_call.arg[3] = a3;
	copy_bounded(td_call.file, sizeof(td_call.file), file);
	copy_bounded(td_call.msg, sizeof(td_call.msg), msg);
	/* The guest is identity mapped below 4 GiB: virtual == physical. */
	outl(TESTDEV_PORT, (uint32_t)(uintptr_t)&td_call);
}

void testdev_sync(const char *file, uint32_t line, const char *msg, uint64_t arg)
{
	serial_puts("guest: sync ");
	serial_puts(msg);
	serial_putc(' ');
	serial_put_hex(arg);
	serial_putc('\n');
	td_send(TESTDEV_SYNC, file, line, msg, arg, 0, 0, 0);
}

void testdev_assert(const char *file, uint32_t line, const char *msg,
		    uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	serial_puts("guest: FAIL ");
	serial_puts(file);
	serial_putc(':');
	serial_put_dec(line);
	serial_puts(": ");
	serial_puts(msg);
	serial_puts(" (");
	serial_put_hex(a0);
	serial_puts(", ");
	serial_put_hex(a1);
	serial_puts(")\n");
	td_send(TESTDEV_ASSERT, file, line, msg, a0, a1, a2, a3);
	halt_forever();
}

void testdev_done(void)
{
	serial_puts("guest: done\n");
	td_send(TESTDEV_DONE, __FILE_NAME__, __LINE__, "done", 0, 0, 0, 0);
	halt_forever();
}

uint32_t testdev_reset_count(void)
{
	return inl(TESTDEV_PORT);
}

/* ---- Boot protocols --------------------------------------------------- */
void boot_parse(uint32_t magic, uint32_t info, struct boot_info *out)
{
	out->cmdline = "";
	if (magic == MULTIBOOT_BOOTLOADER_MAGIC) {
		/* struct multiboot_info: flags at 0, cmdline at 16. */
		const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)info;
		out->protocol = "multiboot";
		GUEST_ASSERT(info != 0);
		if (mbi[0] & MULTIBOOT_INFO_CMDLINE && mbi[4])
			out->cmdline = (const char *)(uintptr_t)mbi[4];
		return;
	}
	if (info && *(const volatile uint32_t *)(uintptr_t)info == PVH_START_MAGIC) {
		/* struct hvm_start_info: cmdline_paddr (64-bit) at 24. */
		const volatile uint32_t *si = (const volatile uint32_t *)(uintptr_t)info;
		out->protocol = "pvh";
		GUEST_ASSERT_EQ(si[7], 0); /* below 4 GiB */
		if (si[6])
			out->cmdline = (const char *)(uintptr_t)si[6];
		return;
	}
	out->protocol = "unknown";
	GUEST_FAIL("unknown boot protocol (eax, ebx)", magic, info);
}

bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			p += klen + 1;
			size_t i = 0;
			while (p[i] && p[i] != ' ' && i + 1 < len) {
				buf[i] = p[i];
				i++;
			}
			buf[i] = 0;
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

/* Return from interrupts with a real IRET in 32-bit code (isr32.S). */
uint8_t isr_use_iret;

/* Called by the head with the entry registers (EAX, EBX). */
void guest_main(uint32_t magic, uint32_t info);
void guest_main(uint32_t magic, uint32_t info)
{
	struct boot_info bi;
	serial_init();
	boot_parse(magic, info, &bi);
	char opt[4];
	if (cmdline_get(bi.cmdline, "iret", opt, sizeof(opt)) && opt[0] == '1')
		isr_use_iret = 1;
	idt_init();
	guest_run(&bi);
	GUEST_FAIL("guest_run returned");
}
