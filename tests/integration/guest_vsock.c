/* A guest program for tests/integration/linux_net.py --case vsock, built
 * static on the host and downloaded by the guest over the user network.
 *
 *   guest_vsock LISTEN_PORT HOST_PORT
 *
 * 1. listens on vsock port LISTEN_PORT, accepts one connection (the host's
 *    "CONNECT <port>"), reads a line and sends it back in upper case;
 * 2. connects to the host (CID 2) port HOST_PORT, sends "hello-from-guest\n"
 *    and prints the line the host answers.
 *
 *   guest_vsock hold PORT
 *
 * listens on vsock port PORT, accepts one connection, prints "holding" and
 * reads until the connection ends, then prints how it ended (the snapshot
 * test: a restore resets it, linux_snapshot.py --vsock). */
#include <errno.h>
#include <ctype.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int read_line(int fd, char *buf, size_t max)
{
	size_t n = 0;
	while (n + 1 < max) {
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			break;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = 0;
	return (int)n;
}

static void die(const char *what)
{
	printf("guest_vsock: %s failed\n", what);
	perror("guest_vsock");
	exit(1);
}

static int hold(unsigned port)
{
	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				  .svm_port = port };
	if (l < 0)
		die("socket(AF_VSOCK)");
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
		die("bind/listen");
	printf("guest_vsock: listening on %u\n", port);
	int c = accept(l, NULL, NULL);
	if (c < 0)
		die("accept");
	printf("guest_vsock: holding a connection on %u\n", port);
	char buf[256];
	ssize_t r;
	while ((r = read(c, buf, sizeof(buf))) > 0)
		;
	printf("guest_vsock: held connection ended: %s\n", r < 0 ? strerror(errno) : "end of file");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold((unsigned)atoi(argv[2]));
	if (argc != 3)
		return 2;
	unsigned lport = (unsigned)atoi(argv[1]), hport = (unsigned)atoi(argv[2]);
	char buf[256];
	setvbuf(stdout, NULL, _IONBF, 0);

	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				  .svm_port = lport };
	if (l < 0)
		die("socket(AF_VSOCK)");
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
		die("bind/listen");
	printf("guest_vsock: listening on %u\n", lport);
	int c = accept(l, NULL, NULL);
	if (c < 0)
		die("accept");
	int n = read_line(c, buf, sizeof(buf));
	for (int i = 0; i < n; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	if (write(c, buf, (size_t)n) != n)
		die("write");
	close(c);
	close(l);
	printf("guest_vsock: echoed %d bytes to the host\n", n);

	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm ha = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				  .svm_port = hport };
	if (s < 0 || connect(s, (struct sockaddr *)&ha, sizeof(ha)) < 0)
		die("connect to CID 2");
	const char hello[] = "hello-from-guest\n";
	if (write(s, hello, sizeof(hello) - 1) != (ssize_t)sizeof(hello) - 1)
		die("write to host");
	n = read_line(s, buf, sizeof(buf));
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	printf("guest_vsock: host replied %s\n", buf);
	close(s);
	return 0;
}
