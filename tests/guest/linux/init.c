// deja's Linux test root: /sbin/init is this one static program, a tiny shell
// on /dev/console whose commands check the virtio devices, the RTC and
// poweroff. Built by rootfs.sh with riscv64-linux-gnu-gcc -static.
//
// Commands (one per line at the "deja# " prompt):
//   help                   list the commands
//   echo ARGS...           print the arguments
//   cat FILE...            print files (e.g. cat /proc/mounts)
//   ls [DIR]               list a directory
//   write FILE TEXT...     write the text and a newline to FILE
//   ip                     eth0's IPv4 address and netmask (SIOCGIFADDR)
//   ping ADDR [COUNT]      ICMP echo over a raw socket, one line per reply
//   tftp ADDR FILE         fetch FILE over TFTP, print its size and CRC-32
//   hwrng N                read N bytes from /dev/hwrng, print them in hex
//   date                   the RTC's time (RTC_RD_TIME on /dev/rtc0), the
//                          system time and the seconds since boot
//   readblk PATH [KIB]     read PATH to its end in KIB-KiB reads (default 64),
//                          print the bytes read and the guest time it took
//   sync                   flush the file systems
//   echod PORT             accept one TCP connection on PORT and echo what
//                          it sends until it closes (hostfwd tests)
//   poweroff | reboot      sync, then power off or reboot through syscon

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <linux/rtc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 16

static void fail(const char *what) { printf("%s: %s\n", what, strerror(errno)); }

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// CRC-32 (IEEE 802.3), as U-Boot's crc32 command and zlib compute it.
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
  }
  return ~crc;
}

static int parse_addr(const char *text, struct sockaddr_in *sa, int port) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  if (inet_aton(text, &sa->sin_addr)) return 0;
  printf("%s: not an IPv4 address\n", text);
  return -1;
}

static int cmd_echo(int argc, char **argv) {
  for (int i = 1; i < argc; i++) printf(i > 1 ? " %s" : "%s", argv[i]);
  printf("\n");
  return 0;
}

static int cmd_cat(int argc, char **argv) {
  char buf[4096];
  for (int i = 1; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      fail(argv[i]);
      return 1;
    }
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
    close(fd);
  }
  return 0;
}

static int cmd_ls(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  DIR *d = opendir(dir);
  if (!d) {
    fail(dir);
    return 1;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat(path, &st) == 0)
      printf("%06o %10lld %s\n", st.st_mode, (long long)st.st_size, e->d_name);
    else
      printf("?????? %10s %s\n", "?", e->d_name);
  }
  closedir(d);
  return 0;
}

static int cmd_write(int argc, char **argv) {
  if (argc < 2) {
    printf("usage: write FILE TEXT...\n");
    return 1;
  }
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    fail(argv[1]);
    return 1;
  }
  for (int i = 2; i < argc; i++) fprintf(f, i > 2 ? " %s" : "%s", argv[i]);
  fprintf(f, "\n");
  fclose(f);
  return 0;
}

static int cmd_ip(int argc, char **argv) {
  (void)argc, (void)argv;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "eth0");
  if (s < 0 || ioctl(s, SIOCGIFADDR, &ifr) < 0) {
    fail("eth0");
    if (s >= 0) close(s);
    return 1;
  }
  struct in_addr a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
  printf("eth0 %s", inet_ntoa(a));
  if (ioctl(s, SIOCGIFNETMASK, &ifr) == 0)
    printf(" netmask %s", inet_ntoa(((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr));
  printf("\n");
  close(s);
  return 0;
}

static uint16_t inet_sum(const void *data, size_t n) {
  const uint8_t *p = data;
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(~sum & 0xffff);
}

static int cmd_ping(int argc, char **argv) {
  struct sockaddr_in to;
  if (argc < 2) {
    printf("usage: ping ADDR [COUNT]\n");
    return 1;
  }
  if (parse_addr(argv[1], &to, 0)) return 1;
  int count = argc > 2 ? atoi(argv[2]) : 3, got = 0;
  int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (s < 0) {
    fail("socket");
    return 1;
  }
  uint16_t id = getpid() & 0xffff;
  for (int seq = 1; seq <= count; seq++) {
    uint8_t pkt[64];
    memset(pkt, 0, sizeof pkt);
    struct icmphdr *h = (struct icmphdr *)pkt;
    h->type = ICMP_ECHO;
    h->un.echo.id = htons(id);
    h->un.echo.sequence = htons(seq);
    for (size_t i = sizeof *h; i < sizeof pkt; i++) pkt[i] = i;
    h->checksum = inet_sum(pkt, sizeof pkt);
    double t0 = now_s();
    if (sendto(s, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) < 0) {
      fail("sendto");
      break;
    }
    for (;;) {
      struct pollfd pfd = {s, POLLIN, 0};
      int left = 1000 - (int)((now_s() - t0) * 1000);
      if (left <= 0 || poll(&pfd, 1, left) <= 0) {
        printf("no reply from %s: icmp_seq=%d\n", argv[1], seq);
        break;
      }
      uint8_t in[1500];
      ssize_t n = recv(s, in, sizeof in, 0);
      if (n < (ssize_t)sizeof(struct iphdr)) continue;
      size_t hl = (in[0] & 15) * 4;
      struct icmphdr *r = (struct icmphdr *)(in + hl);
      if (n < (ssize_t)(hl + sizeof *r) || r->type != ICMP_ECHOREPLY ||
          ntohs(r->un.echo.id) != id || ntohs(r->un.echo.sequence) != seq)
        continue;
      printf("%zd bytes from %s: icmp_seq=%d ttl=%d time=%.1f ms\n", n - hl, argv[1], seq,
             in[8], (now_s() - t0) * 1000);
      got++;
      break;
    }
  }
  close(s);
  printf("ping: %d sent, %d received\n", count, got);
  return got == count ? 0 : 1;
}

// TFTP (RFC 1350) read request in octet mode, 512-byte blocks.
static int cmd_tftp(int argc, char **argv) {
  struct sockaddr_in server, from;
  if (argc < 3) {
    printf("usage: tftp ADDR FILE\n");
    return 1;
  }
  if (parse_addr(argv[1], &server, 69)) return 1;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) {
    fail("socket");
    return 1;
  }
  uint8_t req[600];
  size_t name_len = strlen(argv[2]);
  if (name_len > 500) {
    printf("tftp: file name too long\n");
    close(s);
    return 1;
  }
  req[0] = 0, req[1] = 1;
  memcpy(req + 2, argv[2], name_len + 1);
  memcpy(req + 3 + name_len, "octet", 6);
  size_t req_len = 9 + name_len;
  uint8_t ack[4] = {0, 4, 0, 0};
  const uint8_t *last = req;
  size_t last_len = req_len;
  struct sockaddr_in peer = server;
  uint32_t crc = 0;
  unsigned long total = 0;
  unsigned block = 1;
  int tries = 0, rc = 1;
  double t0 = now_s();
  for (;;) {
    if (sendto(s, last, last_len, 0, (struct sockaddr *)&peer, sizeof peer) < 0) {
      fail("sendto");
      break;
    }
    struct pollfd pfd = {s, POLLIN, 0};
    if (poll(&pfd, 1, 2000) <= 0) {
      if (++tries == 5) {
        printf("tftp: timeout\n");
        break;
      }
      continue;
    }
    uint8_t in[516];
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
    if (n < 4) continue;
    unsigned op = in[0] << 8 | in[1], num = in[2] << 8 | in[3];
    if (op == 5) {
      printf("tftp: error %u: %.*s\n", num, (int)(n - 4), in + 4);
      break;
    }
    if (op != 3) continue;
    if (block == 1) peer.sin_port = from.sin_port;  // the server's transfer port
    if (num != (block & 0xffff)) {  // a repeat: ack it again
      ack[2] = num >> 8, ack[3] = num;
      sendto(s, ack, 4, 0, (struct sockaddr *)&peer, sizeof peer);
      continue;
    }
    tries = 0;
    crc = crc32_update(crc, in + 4, n - 4);
    total += n - 4;
    ack[2] = num >> 8, ack[3] = num;
    last = ack, last_len = 4;
    if (n < 516) {
      sendto(s, ack, 4, 0, (struct sockaddr *)&peer, sizeof peer);
      printf("tftp: %s: %lu bytes, crc32 %08x, %.2f s\n", argv[2], total, crc, now_s() - t0);
      rc = 0;
      break;
    }
    block++;
  }
  close(s);
  return rc;
}

static int cmd_hwrng(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 16;
  if (n <= 0 || n > 4096) {
    printf("usage: hwrng N (1..4096)\n");
    return 1;
  }
  uint8_t buf[4096];
  int fd = open("/dev/hwrng", O_RDONLY);
  if (fd < 0) {
    fail("/dev/hwrng");
    return 1;
  }
  int got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) {
      fail("read /dev/hwrng");
      close(fd);
      return 1;
    }
    got += r;
  }
  close(fd);
  printf("hwrng:");
  for (int i = 0; i < n; i++) printf("%s%02x", i % 32 ? "" : "\n", buf[i]);
  printf("\n");
  return 0;
}

static int cmd_date(int argc, char **argv) {
  (void)argc, (void)argv;
  struct rtc_time t;
  int fd = open("/dev/rtc0", O_RDONLY);
  if (fd < 0 || ioctl(fd, RTC_RD_TIME, &t) < 0) {
    fail("/dev/rtc0");
    if (fd >= 0) close(fd);
    return 1;
  }
  close(fd);
  printf("rtc0: %04d-%02d-%02d %02d:%02d:%02d UTC\n", t.tm_year + 1900, t.tm_mon + 1,
         t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
  struct timespec up;
  clock_gettime(CLOCK_BOOTTIME, &up);
  printf("time: %lld uptime: %lld\n", (long long)time(NULL), (long long)up.tv_sec);
  return 0;
}

static int cmd_readblk(int argc, char **argv) {
  if (argc < 2) {
    printf("usage: readblk PATH [KIB]\n");
    return 1;
  }
  size_t size = (argc > 2 ? atoi(argv[2]) : 64) * 1024;
  if (size == 0 || size > 4u << 20) {
    printf("readblk: KIB must be 1..4096\n");
    return 1;
  }
  char *buf = malloc(size);
  int fd = open(argv[1], O_RDONLY);
  if (!buf || fd < 0) {
    fail(argv[1]);
    free(buf);
    return 1;
  }
  unsigned long long total = 0;
  ssize_t n;
  double t0 = now_s();
  while ((n = read(fd, buf, size)) > 0) total += n;
  double dt = now_s() - t0;
  if (n < 0) fail("read");
  close(fd);
  free(buf);
  printf("readblk: %llu bytes in %.3f s\n", total, dt);
  return n < 0;
}

static int cmd_echod(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  if (port <= 0 || port > 65535) {
    printf("usage: echod PORT\n");
    return 1;
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
      bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 1)) {
    fail("echod");
    if (s >= 0) close(s);
    return 1;
  }
  printf("echod: listening on %d\n", port);
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  close(s);
  if (c < 0) {
    fail("accept");
    return 1;
  }
  char buf[4096];
  unsigned long long total = 0;
  ssize_t n;
  while ((n = read(c, buf, sizeof buf)) > 0) {
    for (ssize_t at = 0; at < n;) {
      ssize_t w = write(c, buf + at, n - at);
      if (w <= 0) {
        n = -1;
        break;
      }
      at += w;
    }
    if (n < 0) break;
    total += n;
  }
  if (n < 0) fail("echod");
  close(c);
  printf("echod: %llu bytes\n", total);
  return n < 0;
}

static int cmd_sync(int argc, char **argv) {
  (void)argc, (void)argv;
  sync();
  return 0;
}

static int cmd_poweroff(int argc, char **argv) {
  (void)argc;
  sync();
  printf("%s\n", strcmp(argv[0], "reboot") ? "powering off" : "rebooting");
  fflush(stdout);
  reboot(strcmp(argv[0], "reboot") ? RB_POWER_OFF : RB_AUTOBOOT);
  fail(argv[0]);
  return 1;
}

static int cmd_help(int argc, char **argv);

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
} commands[] = {
    {"help", cmd_help},   {"echo", cmd_echo},         {"cat", cmd_cat},
    {"ls", cmd_ls},       {"write", cmd_write},       {"ip", cmd_ip},
    {"ping", cmd_ping},   {"tftp", cmd_tftp},         {"hwrng", cmd_hwrng},
    {"date", cmd_date},   {"readblk", cmd_readblk},   {"sync", cmd_sync},
    {"poweroff", cmd_poweroff}, {"reboot", cmd_poweroff},
    {"echod", cmd_echod},
};

static int cmd_help(int argc, char **argv) {
  (void)argc, (void)argv;
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    printf("%s%s", i ? " " : "commands: ", commands[i].name);
  printf("\n");
  return 0;
}

int main(void) {
  // The kernel starts init with no descriptors when /dev/console is missing;
  // devtmpfs is mounted on /dev by then (CONFIG_DEVTMPFS_MOUNT).
  int fd = open("/dev/console", O_RDWR);
  if (fd >= 0) {
    dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
    if (fd > 2) close(fd);
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (mount("proc", "/proc", "proc", 0, NULL)) fail("mount /proc");
  if (mount("sysfs", "/sys", "sysfs", 0, NULL)) fail("mount /sys");
  printf("deja init: type help\n");
  char line[512];
  for (;;) {
    printf("deja# ");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
      clearerr(stdin);
      sleep(1);
      continue;
    }
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < MAX_ARGS; tok = strtok(NULL, " \t\r\n"))
      argv[argc++] = tok;
    argv[argc] = NULL;
    if (argc == 0) continue;
    size_t i;
    for (i = 0; i < sizeof commands / sizeof *commands; i++)
      if (!strcmp(argv[0], commands[i].name)) break;
    if (i == sizeof commands / sizeof *commands)
      printf("%s: unknown command (try help)\n", argv[0]);
    else
      commands[i].run(argc, argv);
  }
}
