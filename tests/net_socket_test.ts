// -netdev socket and stream: QEMU's framing (a 4-byte big-endian length
// before each frame) in both directions; Debian's U-Boot on deja gets an
// address and a file through a peer that speaks it; two deja machines, and
// deja and qemu-system-riscv64, ping each other's U-Boot; a recorded socket
// session replays to the same state hashes with no peer and no socket; bad
// command lines, a refused connection and a missing --allow-net are one-line
// errors.

import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import {
  encodeStreamFrame,
  MAX_STREAM_FRAME,
  SocketNetdev,
  StreamDeframer,
  StreamFramingError,
} from "../plugins/net_socket.ts";
import { tftpDirectory, UserNetwork } from "../plugins/net_user.ts";
import { parseCommandLine, UsageError } from "../cli/args.ts";
import { requiredPermissions } from "../cli/permissions.ts";
import { deja, dejaCommand, ROOT } from "./_deja.ts";
import { crc32 } from "./_console.ts";
import { ReplayLogReader } from "../replay/log.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const READ = `--allow-read=${ROOT},/usr/lib/riscv64-linux-gnu,/usr/lib/u-boot`;
const UBOOT = ["-M", "virt", "-m", "128M", "-nographic", "-bios", FW_JUMP];
const dir = Deno.makeTempDirSync({ prefix: "deja_net_socket_" });

Deno.test("encodeStreamFrame and StreamDeframer: frames cut anywhere come back whole", () => {
  const frames = [60, 1514, 0, 42, 9000].map((n) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 13 + n) & 0xff)
  );
  const stream = new Uint8Array(
    frames.reduce((a, f) => a + 4 + f.length, 0),
  );
  let at = 0;
  for (const f of frames) {
    const e = encodeStreamFrame(f);
    deepEqual([...e.subarray(0, 4)], [
      f.length >>> 24,
      (f.length >> 16) & 255,
      (f.length >> 8) & 255,
      f.length & 255,
    ]);
    stream.set(e, at);
    at += e.length;
  }
  for (const cut of [1, 3, 5, 700, 4096]) {
    const d = new StreamDeframer();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += cut) {
      got.push(...d.push(stream.subarray(i, i + cut)));
    }
    equal(d.buffered, 0);
    deepEqual(got, frames, `chunks of ${cut}`);
  }
});

Deno.test("StreamDeframer refuses a length no frame has (not QEMU's framing)", () => {
  const d = new StreamDeframer();
  const bad = new Uint8Array(8);
  new DataView(bad.buffer).setUint32(0, MAX_STREAM_FRAME + 1);
  throws(
    () => d.push(bad),
    (e) =>
      e instanceof StreamFramingError &&
      /announced a 69633-byte frame.*4-byte big-endian length/.test(e.message),
  );
});

Deno.test("-netdev socket and stream parse as QEMU's; net permission only outside a replay", async (t) => {
  const parse = (netdev: string, extra: string[] = []) =>
    runConfig([
      "-netdev",
      netdev,
      "-device",
      "virtio-net-device,netdev=n0",
      ...extra,
    ]);
  await t.step("forms", () => {
    const cases: [string, unknown][] = [
      ["socket,id=n0,listen=127.0.0.1:5555", {
        mode: "listen",
        hostname: "127.0.0.1",
        port: 5555,
      }],
      ["socket,id=n0,listen=:5555", {
        mode: "listen",
        hostname: "127.0.0.1",
        port: 5555,
      }],
      ["socket,id=n0,connect=localhost:6", {
        mode: "connect",
        hostname: "localhost",
        port: 6,
      }],
      [
        "stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=7000",
        { mode: "listen", hostname: "127.0.0.1", port: 7000 },
      ],
      [
        "stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=7001",
        { mode: "connect", hostname: "127.0.0.1", port: 7001 },
      ],
    ];
    for (const [text, socket] of cases) {
      const c = parse(text);
      deepEqual(c.netdevs[0], { id: "n0", type: "socket", socket }, text);
    }
  });
  await t.step("permissions", () => {
    const c = parse("socket,id=n0,connect=127.0.0.1:6000");
    deepEqual(requiredPermissions(c).filter((p) => p.name === "net"), [
      { name: "net", host: "127.0.0.1:6000", reason: "-netdev n0" },
    ]);
    const r = parse("socket,id=n0,connect=127.0.0.1:6000", [
      "-icount",
      "shift=3,rr=replay,rrfile=/tmp/x.rr",
    ]);
    deepEqual(requiredPermissions(r).filter((p) => p.name === "net"), []);
  });
  await t.step("bad ones", () => {
    const bad: [string, RegExp][] = [
      ["socket,id=n0", /give one of listen= and connect=/],
      [
        "socket,id=n0,listen=:1,connect=127.0.0.1:2",
        /give one of listen= and connect=/,
      ],
      ["socket,id=n0,connect=:5555", /connect=:5555 is not HOST:PORT/],
      ["socket,id=n0,listen=127.0.0.1:0", /listen=127\.0\.0\.1:0 is not/],
      ["socket,id=n0,mcast=230.0.0.1:1234", /has no mcast=/],
      [
        "stream,id=n0,server=on,addr.type=unix,addr.path=/tmp/s",
        /has no addr\.path=/,
      ],
      [
        "stream,id=n0,server=on,addr.type=unix",
        /TCP only \(addr\.type=inet\), not unix/,
      ],
      [
        "stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1",
        /addr\.host= and addr\.port= \(1 to 65535\) are needed/,
      ],
      ["tap,id=n0", /backends are user .*, socket and stream .*not tap/],
    ];
    for (const [text, re] of bad) refusedInOneLine(() => parse(text), re, text);
  });
});

Deno.test("SocketNetdev: a listener and a client exchange frames; a peer that breaks the framing is dropped with a notice, and the next one is taken", async () => {
  const notices: string[] = [];
  const atA: Uint8Array[] = [], atB: Uint8Array[] = [];
  const a = await SocketNetdev.open({
    id: "a",
    mode: "listen",
    hostname: "127.0.0.1",
    port: 0,
    receive: (f) => void atA.push(f),
    notice: (l) => void notices.push(l),
  });
  a.send(new Uint8Array(60)); // no peer yet: dropped
  equal(a.dropped, 1);
  const b = await SocketNetdev.open({
    id: "b",
    mode: "connect",
    hostname: "127.0.0.1",
    port: a.port,
    receive: (f) => void atB.push(f),
  });
  await a.connected();
  const frames = [1514, 60, 42].map((n) => new Uint8Array(n).fill(n & 255));
  for (const f of frames) b.send(f);
  a.send(frames[0]!);
  const until = async (done: () => boolean) => {
    const end = Date.now() + 5000;
    while (!done() && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until(() => atA.length === 3 && atB.length === 1);
  deepEqual(atA, frames);
  deepEqual(atB, [frames[0]]);
  await b.close();
  await until(() => !a.isConnected);
  // A peer that sends a length no frame has.
  const bad = await Deno.connect({ hostname: "127.0.0.1", port: a.port });
  await bad.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0]));
  await until(() => notices.length === 4);
  equal(await bad.read(new Uint8Array(8)).catch(() => null), null);
  bad.close();
  const where = `-netdev a (127.0.0.1:${a.port})`;
  deepEqual(notices.map((n) => n.replace(/from 127\.0\.0\.1:\d+/, "from P")), [
    `${where}: a peer connected from P`,
    `${where}: the peer closed the connection; frames the guest sends are dropped until a peer connects again`,
    `${where}: a peer connected from P`,
    `${where}: the peer announced a 4294967295-byte frame, more than 69632: it does not speak QEMU's socket framing (a 4-byte big-endian length before each frame); frames the guest sends are dropped until a peer connects again`,
  ]);
  await a.close();
});

/** A free TCP port on 127.0.0.1 (listened on, then let go). */
/** The run configuration the command line `args` parses to. */
function runConfig(args: string[]) {
  const c = parseCommandLine(args);
  if (c.kind !== "run") throw new Error("not a run");
  return c.config;
}

/** `parse` throws a UsageError of one line that matches `re`. */
function refusedInOneLine(parse: () => unknown, re: RegExp, text: string) {
  throws(
    parse,
    (e) =>
      e instanceof UsageError && re.test(e.message) &&
      !e.message.includes("\n"),
    text,
  );
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("A refused connection and a missing --allow-net are one-line errors", async () => {
  const port = freePort();
  const netdev = ["-netdev", `socket,id=n0,connect=127.0.0.1:${port}`];
  const args = [
    ...UBOOT,
    "-kernel",
    UBOOT_S,
    ...netdev,
    "-device",
    "virtio-net-device,netdev=n0",
  ];
  const refused = await deja(
    [READ, `--allow-net=127.0.0.1:${port}`, `--allow-write=${dir}`],
    [...args, "-icount", `shift=3,rr=record,rrfile=${dir}/refused.rr`],
  );
  equal(refused.code, 1);
  equal(
    refused.stderr.trim(),
    `error: Cannot connect -netdev n0 to 127.0.0.1:${port}: connection refused; start the peer first (a deja or QEMU with listen=127.0.0.1:${port} or server=on), or listen here instead`,
  );
  const denied = await deja([READ], args);
  equal(denied.code, 1);
  equal(
    denied.stderr.trim(),
    `error: Missing permission: net access to 127.0.0.1:${port}; add --allow-net=127.0.0.1:${port} to the deno run command`,
  );
  equal(denied.stderr.trim().split("\n").length, 1, denied.stderr);
});

/**
 * A process on a console: its output as text, `expect` a pattern (with a
 * wall-clock limit), `send` keys.
 */
class Proc {
  readonly child: Deno.ChildProcess;
  out = "";
  err = "";
  #mark = 0;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reading: Promise<void>;

  constructor(cmd: Deno.Command) {
    this.child = cmd.spawn();
    this.#writer = this.child.stdin.getWriter();
    const dec = new TextDecoder();
    const pipe = async (
      s: ReadableStream<Uint8Array>,
      add: (t: string) => void,
    ) => {
      for await (const b of s) add(dec.decode(b, { stream: true }));
    };
    this.#reading = Promise.all([
      pipe(this.child.stdout, (t) => this.out += t),
      pipe(this.child.stderr, (t) => this.err += t),
    ]).then(() => {});
  }

  /** Wait until the output since the last mark matches; returns it. */
  async expect(pattern: RegExp, ms = 90_000): Promise<string> {
    const end = Date.now() + ms;
    while (!pattern.test(this.out.slice(this.#mark))) {
      if (Date.now() > end) {
        throw new Error(
          `no ${pattern} within ${ms} ms; output:\n${
            this.out.slice(this.#mark)
          }\nstderr:\n${this.err}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const got = this.out.slice(this.#mark);
    this.#mark = this.out.length;
    return got;
  }

  /** Type `text`. */
  async send(text: string): Promise<void> {
    this.#mark = this.out.length;
    await this.#writer.write(new TextEncoder().encode(text));
  }

  /** Run a U-Boot command and wait for the next prompt. */
  async command(cmd: string, ms?: number): Promise<string> {
    await this.send(cmd + "\n");
    return await this.expect(/\n=> $/, ms);
  }

  /** Wait for the end. */
  async done(): Promise<{ code: number; out: string; err: string }> {
    await this.#writer.close().catch(() => {});
    const { code } = await this.child.status;
    await this.#reading;
    return { code, out: this.out, err: this.err };
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
}

/** deja on a console (stdin piped), allowed to use `ports`. */
function startDeja(
  args: string[],
  ports: number[],
  write: string[] = [],
): Proc {
  return new Proc(dejaCommand(
    [
      READ,
      ...(ports.length
        ? [`--allow-net=${ports.map((p) => `127.0.0.1:${p}`).join(",")}`]
        : []),
      ...(write.length ? [`--allow-write=${write.join(",")}`] : []),
    ],
    args,
    "piped",
  ));
}

/** Stop U-Boot's autoboot and wait for its prompt. */
async function toPrompt(p: Proc): Promise<void> {
  await p.expect(/Hit any key to stop autoboot/);
  await p.send(" ");
  await p.expect(/=> $/);
}

/**
 * A peer speaking QEMU's framing that answers as the built-in user network
 * does (DHCP, ARP, ping of 10.0.2.2, TFTP of `tftp`): it listens on a free
 * port for one connection.
 */
function userPeer(tftp: string): {
  port: number;
  frames: Promise<{ in: number; out: number }>;
} {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const frames = (async () => {
    const conn = await l.accept();
    l.close();
    const net = new UserNetwork({ readFile: tftpDirectory(tftp) });
    const d = new StreamDeframer();
    const buf = new Uint8Array(65536);
    let got = 0, sent = 0;
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      for (const f of d.push(buf.subarray(0, n))) {
        got++;
        for (const r of net.transmit(f)) {
          sent++;
          const bytes = encodeStreamFrame(r);
          for (let at = 0; at < bytes.length;) {
            at += await conn.write(bytes.subarray(at));
          }
        }
      }
    }
    conn.close();
    return { in: got, out: sent };
  })();
  return { port, frames };
}

Deno.test("U-Boot on deja gets an address and a file through a socket peer; the recording replays with no peer and no socket", async () => {
  Deno.mkdirSync(`${dir}/tftp`);
  const FILE = Uint8Array.from({ length: 30_011 }, (_, i) => (i * 7) & 0xff);
  Deno.writeFileSync(`${dir}/tftp/file.bin`, FILE);
  const CRC = crc32(FILE).toString(16).padStart(8, "0");
  const peer = userPeer(`${dir}/tftp`);
  const rr = `${dir}/socket.rr`;
  const args = (netdev: string) => [
    ...UBOOT,
    "-kernel",
    UBOOT_S,
    "-netdev",
    netdev,
    "-device",
    "virtio-net-device,netdev=n0,mac=52:54:00:12:34:99",
  ];
  const p = startDeja(
    [
      ...args(`socket,id=n0,connect=127.0.0.1:${peer.port}`),
      "-icount",
      `shift=3,rr=record,rrfile=${rr},rrcheck=5000000`,
    ],
    [peer.port],
    [dir],
  );
  try {
    await toPrompt(p);
    await p.command("setenv autoload no");
    match(await p.command("dhcp"), /DHCP client bound to address 10\.0\.2\.15/);
    match(await p.command("ping 10.0.2.2"), /host 10\.0\.2\.2 is alive/);
    match(
      await p.command("tftpboot 0x84000000 file.bin"),
      /Bytes transferred = 30011 /,
    );
    match(
      await p.command("crc32 0x84000000 ${filesize}"),
      new RegExp(`==> ${CRC}`),
    );
    await p.send("poweroff\n");
  } catch (e) {
    p.kill();
    throw e;
  }
  const rec = await p.done();
  equal(rec.code, 0, rec.err);
  const counts = await peer.frames;
  // DHCP discover and request, ARP, ping, a read request and 59 ACKs.
  ok(counts.in >= 60 && counts.out >= 60, JSON.stringify(counts));
  const log = Deno.readFileSync(rr);
  const rx = [...new ReplayLogReader(log)].filter((e) =>
    e.kind === "plugin-event" && e.event === "net-rx"
  );
  equal(rx.length, counts.out, "every frame from the peer is logged");

  // The replay: no peer, no --allow-net, the TFTP file gone; the same
  // console and every state hash (rrcheck) matched on the way.
  Deno.removeSync(`${dir}/tftp`, { recursive: true });
  const rep = await deja(
    [READ, `--allow-read=${rr}`],
    [
      ...args(`socket,id=n0,connect=127.0.0.1:${peer.port}`),
      "-icount",
      `shift=3,rr=replay,rrfile=${rr}`,
    ],
  );
  equal(rep.code, 0, rep.stderr);
  equal(
    rep.stdout.replace(/\r/g, "").trimEnd(),
    rec.out.replace(/\r/g, "").trimEnd(),
  );
  match(rep.stdout, new RegExp(`==> ${CRC}`));
});

/**
 * `pinger` pings `target`'s U-Boot over the socket: `target` stays in its
 * network loop (a TFTP download from an absent server, retried forever)
 * and answers ARP and ICMP echo there; Ctrl-C ends it.
 */
async function pingAcross(
  target: Proc,
  pinger: Proc,
): Promise<string> {
  await Promise.all([toPrompt(target), toPrompt(pinger)]);
  await target.command("setenv ipaddr 10.0.9.1; setenv netretry yes");
  await target.command("setenv serverip 10.0.9.77");
  await pinger.command("setenv ipaddr 10.0.9.2");
  await target.send("tftpboot 0x84000000 nothing.bin\n");
  await target.expect(/Load address: 0x84000000/);
  const out = await pinger.command("ping 10.0.9.1");
  await target.send("\x03"); // Ctrl-C: U-Boot ends the download
  await target.expect(/\n=> $/);
  return out;
}

Deno.test("Two deja machines ping each other's U-Boot over -netdev socket listen= and connect=", async () => {
  const port = freePort();
  const rr = `${dir}/pinger.rr`;
  const a = startDeja([
    ...UBOOT,
    "-kernel",
    UBOOT_S,
    "-netdev",
    `socket,id=n0,listen=127.0.0.1:${port}`,
    "-device",
    "virtio-net-device,netdev=n0,mac=52:54:00:00:00:01",
  ], [port]);
  let b: Proc | undefined;
  try {
    await a.expect(/OpenSBI|U-Boot/);
    b = startDeja(
      [
        ...UBOOT,
        "-kernel",
        UBOOT_S,
        "-netdev",
        `stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`,
        "-device",
        "virtio-net-device,netdev=n0,mac=52:54:00:00:00:02",
        "-icount",
        `shift=3,rr=record,rrfile=${rr},rrcheck=5000000`,
      ],
      [port],
      [dir],
    );
    match(await pingAcross(a, b), /host 10\.0\.9\.1 is alive/);
    await b.send("poweroff\n");
  } catch (e) {
    a.kill();
    b?.kill();
    throw e;
  }
  const rb = await b!.done();
  equal(rb.code, 0, rb.err);
  // The listener goes on without its peer, and says so in one line.
  const end = Date.now() + 20_000;
  while (!a.err.includes("closed") && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await a.send("poweroff\n");
  const ra = await a.done();
  equal(ra.code, 0, ra.err);
  deepEqual(ra.err.trim().split("\n"), [
    `deja: -netdev n0 (127.0.0.1:${port}): a peer connected from 127.0.0.1:${
      ra.err.match(/from 127\.0\.0\.1:(\d+)/)?.[1]
    }`,
    `deja: -netdev n0 (127.0.0.1:${port}): the peer closed the connection; frames the guest sends are dropped until a peer connects again`,
  ]);
  // The pinger's recording replays alone.
  const rep = await deja(
    [READ, `--allow-read=${rr}`],
    [
      ...UBOOT,
      "-kernel",
      UBOOT_S,
      "-netdev",
      `stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`,
      "-device",
      "virtio-net-device,netdev=n0,mac=52:54:00:00:00:02",
      "-icount",
      `shift=3,rr=replay,rrfile=${rr}`,
    ],
  );
  equal(rep.code, 0, rep.stderr);
  match(rep.stdout, /host 10\.0\.9\.1 is alive/);
});

Deno.test("deja and qemu-system-riscv64 ping each other's U-Boot over -netdev stream and socket", async () => {
  const port = freePort();
  // QEMU listens (stream, server=on); deja connects (socket) and pings it.
  const q = new Proc(
    new Deno.Command("qemu-system-riscv64", {
      args: [
        ...UBOOT,
        "-kernel",
        UBOOT_S,
        "-netdev",
        `stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`,
        "-device",
        "virtio-net-device,netdev=n0,mac=52:54:00:00:00:03",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }),
  );
  let d: Proc | undefined;
  try {
    await q.expect(/OpenSBI|U-Boot/);
    d = startDeja([
      ...UBOOT,
      "-kernel",
      UBOOT_S,
      "-netdev",
      `socket,id=n0,connect=127.0.0.1:${port}`,
      "-device",
      "virtio-net-device,netdev=n0,mac=52:54:00:00:00:04",
    ], [port]);
    match(await pingAcross(q, d), /host 10\.0\.9\.1 is alive/);
    // And the other way: QEMU's U-Boot pings deja's.
    await q.command("setenv ipaddr 10.0.9.2");
    await d.command("setenv ipaddr 10.0.9.1; setenv netretry yes");
    await d.command("setenv serverip 10.0.9.77");
    await d.send("tftpboot 0x84000000 nothing.bin\n");
    await d.expect(/Load address: 0x84000000/);
    match(await q.command("ping 10.0.9.1"), /host 10\.0\.9\.1 is alive/);
    await d.send("\x03");
    await d.expect(/\n=> $/);
    await d.send("poweroff\n");
    await q.send("poweroff\n");
  } catch (e) {
    q.kill();
    d?.kill();
    throw e;
  }
  const [rq, rd] = await Promise.all([q.done(), d!.done()]);
  equal(rd.code, 0, rd.err);
  equal(rq.code, 0, rq.err);
});

/** The committed Linux kernel, unpacked, and a root image (rootfs.sh). */
async function linuxFiles(): Promise<{ image: string; root: string }> {
  const linux = `${ROOT}/tests/guest/linux`;
  const image = `${dir}/Image`, root = `${dir}/root.img`;
  try {
    Deno.statSync(image);
    return { image, root };
  } catch { /* make them */ }
  const gz = Deno.readFileSync(`${linux}/Image.gz`);
  const bytes = await new Response(
    new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).arrayBuffer();
  Deno.writeFileSync(image, new Uint8Array(bytes));
  const out = new Deno.Command("sh", {
    args: [`${linux}/rootfs.sh`, root],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  ok(out.success, new TextDecoder().decode(out.stderr));
  return { image, root };
}

/** A Linux machine's options with a static address on the socket netdev. */
function linuxArgs(
  files: { image: string; root: string },
  ip: string,
  netdev: string,
  mac: string,
): string[] {
  return [
    "-M",
    "virt",
    "-m",
    "128M",
    "-nographic",
    "-bios",
    FW_JUMP,
    "-kernel",
    files.image,
    "-append",
    `console=ttyS0 root=/dev/vda ro ip=${ip}::10.0.9.254:255.255.255.0::eth0:off`,
    "-drive",
    `file=${files.root},format=raw,if=none,id=d0,snapshot=on`,
    "-device",
    "virtio-blk-device,drive=d0",
    "-netdev",
    netdev,
    "-device",
    `virtio-net-device,netdev=n0,mac=${mac}`,
  ];
}

const LINUX_PROMPT = /\ndeja# $/;

Deno.test("Linux on two deja machines pings across -netdev socket; the pinger's recording replays with no peer", async () => {
  const files = await linuxFiles();
  const port = freePort();
  const rr = `${dir}/linux_ping.rr`;
  const read = `--allow-read=${dir}`;
  const a = new Proc(dejaCommand(
    [READ, read, `--allow-net=127.0.0.1:${port}`],
    linuxArgs(
      files,
      "10.0.9.1",
      `socket,id=n0,listen=127.0.0.1:${port}`,
      "52:54:00:00:09:01",
    ),
    "piped",
  ));
  let b: Proc | undefined;
  try {
    await a.expect(/OpenSBI/);
    const args = linuxArgs(
      files,
      "10.0.9.2",
      `socket,id=n0,connect=127.0.0.1:${port}`,
      "52:54:00:00:09:02",
    );
    b = new Proc(dejaCommand(
      [READ, read, `--allow-net=127.0.0.1:${port}`, `--allow-write=${dir}`],
      [...args, "-icount", `shift=3,rr=record,rrfile=${rr},rrcheck=10000000`],
      "piped",
    ));
    await Promise.all([a.expect(LINUX_PROMPT), b.expect(LINUX_PROMPT)]);
    await b.send("ping 10.0.9.1 3\n");
    const pinged = await b.expect(LINUX_PROMPT);
    match(pinged, /64 bytes from 10\.0\.9\.1: icmp_seq=3/);
    match(pinged, /ping: 3 sent, 3 received/);
    await a.send("ping 10.0.9.2 2\n");
    match(await a.expect(LINUX_PROMPT), /ping: 2 sent, 2 received/);
    await b.send("poweroff\n");
    await a.send("poweroff\n");
  } catch (e) {
    a.kill();
    b?.kill();
    throw e;
  }
  const [ra, rb] = await Promise.all([a.done(), b!.done()]);
  equal(ra.code, 0, ra.err);
  equal(rb.code, 0, rb.err);
  // The replay: no peer, no socket, the same console, every rrcheck hash.
  const rep = await deja(
    [READ, read],
    [
      ...linuxArgs(
        files,
        "10.0.9.2",
        `socket,id=n0,connect=127.0.0.1:${port}`,
        "52:54:00:00:09:02",
      ),
      "-icount",
      `shift=3,rr=replay,rrfile=${rr}`,
    ],
  );
  equal(rep.code, 0, rep.stderr);
  equal(
    rep.stdout.replace(/\r/g, "").trimEnd(),
    rb.out.replace(/\r/g, "").trimEnd(),
  );
});

Deno.test("Linux on deja and Linux on qemu-system-riscv64 ping each other over -netdev stream", async () => {
  const files = await linuxFiles();
  const port = freePort();
  const q = new Proc(
    new Deno.Command("qemu-system-riscv64", {
      args: linuxArgs(
        files,
        "10.0.9.1",
        `stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`,
        "52:54:00:00:09:03",
      ),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }),
  );
  let d: Proc | undefined;
  try {
    await q.expect(/OpenSBI/);
    d = new Proc(dejaCommand(
      [READ, `--allow-read=${dir}`, `--allow-net=127.0.0.1:${port}`],
      linuxArgs(
        files,
        "10.0.9.2",
        `stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`,
        "52:54:00:00:09:04",
      ),
      "piped",
    ));
    await Promise.all([q.expect(LINUX_PROMPT), d.expect(LINUX_PROMPT)]);
    await d.send("ping 10.0.9.1 3\n");
    match(await d.expect(LINUX_PROMPT), /ping: 3 sent, 3 received/);
    await q.send("ping 10.0.9.2 3\n");
    match(await q.expect(LINUX_PROMPT), /ping: 3 sent, 3 received/);
    await d.send("poweroff\n");
    await q.send("poweroff\n");
  } catch (e) {
    q.kill();
    d?.kill();
    throw e;
  }
  const [rq, rd] = await Promise.all([q.done(), d!.done()]);
  equal(rd.code, 0, rd.err);
  equal(rq.code, 0, rq.err);
});

/** A TCP segment from the guest (10.0.2.15) to the gateway, in a frame. */
function guestTcp(
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  data: Uint8Array = new Uint8Array(0),
  window = 65535,
): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + data.length);
  const v = new DataView(f.buffer);
  f.set([0x52, 0x55, 10, 0, 2, 2, 0x52, 0x54, 0, 0x12, 0x34, 0x56], 0);
  v.setUint16(12, 0x0800);
  f[14] = 0x45;
  v.setUint16(16, 40 + data.length);
  f[22] = 64;
  f[23] = 6;
  v.setUint32(26, 0x0a00020f);
  v.setUint32(30, 0x0a000202);
  v.setUint16(34, sport);
  v.setUint16(36, dport);
  v.setUint32(38, seq);
  v.setUint32(42, ack);
  f[46] = 5 << 4;
  f[47] = flags;
  v.setUint16(48, window);
  f.set(data, 54);
  return f;
}

/** The TCP fields of a frame the user network sent to the guest. */
function tcpOf(f: Uint8Array) {
  const v = new DataView(f.buffer, f.byteOffset, f.length);
  const ihl = (f[14]! & 15) * 4, t = 14 + ihl;
  const off = (f[t + 12]! >> 4) * 4;
  // The checksum over the pseudo-header and the segment adds up to 0xffff.
  const seg = f.subarray(t, 14 + v.getUint16(16));
  let sum = 0x0a00 + 0x0202 + 0x0a00 + 0x020f + 6 + seg.length;
  for (let i = 0; i < seg.length; i += 2) {
    sum += (seg[i]! << 8) | (seg[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return {
    sport: v.getUint16(t),
    dport: v.getUint16(t + 2),
    seq: v.getUint32(t + 4),
    ack: v.getUint32(t + 8),
    flags: f[t + 13]!,
    data: seg.subarray(off),
    checksumOk: sum === 0xffff,
  };
}

Deno.test("UserNetwork forwards a TCP connection: handshake, window, order, FIN and RST", () => {
  const got: string[] = [];
  const closed: string[] = [];
  const net = new UserNetwork({
    host: {
      data: (c, b) => void got.push(`${c}:${new TextDecoder().decode(b)}`),
      close: (c, reset) => void closed.push(`${c}:${reset ? "reset" : "fin"}`),
    },
  });
  const [syn] = net.hostConnect(1, 7);
  const s = tcpOf(syn!);
  equal(s.flags, 2); // SYN
  equal(s.dport, 7);
  ok(s.checksumOk);
  // Host data before the handshake waits for it.
  deepEqual(net.hostData(1, new Uint8Array(3000).fill(65)), []);
  // SYN+ACK with a 2000-byte window: the ACK carries the first 2000 bytes.
  const gseq = 1000;
  const out = net.transmit(
    guestTcp(7, s.sport, gseq, s.seq + 1, 0x12, undefined, 2000),
  ).map(tcpOf);
  deepEqual(out.map((t) => t.data.length), [1460, 540]);
  ok(out.every((t) => t.checksumOk && t.ack === gseq + 1));
  equal(out[0]!.seq, s.seq + 1);
  // The guest acknowledges 1460: the window opens for the rest.
  const more = net.transmit(guestTcp(7, s.sport, gseq + 1, s.seq + 1461, 0x10))
    .map(tcpOf);
  deepEqual(more.map((t) => [t.seq - s.seq - 1, t.data.length]), [[
    2000,
    1000,
  ]]);
  // Guest data out of order is dropped and acknowledged at the expected
  // sequence number; in order, it reaches the host.
  const early = net.transmit(
    guestTcp(
      7,
      s.sport,
      gseq + 6,
      s.seq + 3001,
      0x18,
      new TextEncoder().encode("world"),
    ),
  ).map(tcpOf);
  deepEqual(early.map((t) => t.ack), [gseq + 1]);
  deepEqual(got, []);
  net.transmit(
    guestTcp(
      7,
      s.sport,
      gseq + 1,
      s.seq + 3001,
      0x18,
      new TextEncoder().encode("hello"),
    ),
  );
  deepEqual(got, ["1:hello"]);
  // The host finishes: a FIN; the guest's FIN closes the host side.
  const [fin] = net.hostClose(1).map(tcpOf);
  equal(fin!.flags & 1, 1);
  equal(fin!.seq, s.seq + 3001);
  const last = net.transmit(
    guestTcp(7, s.sport, gseq + 6, s.seq + 3002, 0x11),
  ).map(tcpOf);
  deepEqual(last.map((t) => [t.flags, t.ack]), [[0x10, gseq + 7]]);
  deepEqual(closed, ["1:fin"]);
  equal(net.connections, 0);
  // A guest port nobody listens on: the guest's RST ends it.
  const [syn2] = net.hostConnect(2, 9);
  const s2 = tcpOf(syn2!);
  net.transmit(guestTcp(9, s2.sport, 0, s2.seq + 1, 0x14));
  deepEqual(closed, ["1:fin", "2:reset"]);
  equal(net.connections, 0);
});

Deno.test("-netdev user,hostfwd= parses as QEMU's; bad rules are one-line errors", () => {
  const parse = (netdev: string, extra: string[] = []) =>
    runConfig(["-netdev", netdev, ...extra]);
  deepEqual(
    parse(
      "user,id=n0,hostfwd=tcp::2222-:22,hostfwd=tcp:127.0.0.1:8080-10.0.2.15:80",
    )
      .netdevs[0],
    {
      id: "n0",
      type: "user",
      hostfwd: [
        { hostname: "127.0.0.1", hostPort: 2222, guestPort: 22 },
        { hostname: "127.0.0.1", hostPort: 8080, guestPort: 80 },
      ],
    },
  );
  const c = parse("user,id=n0,hostfwd=tcp::2222-:22", [
    "-device",
    "virtio-net-device,netdev=n0",
  ]);
  deepEqual(requiredPermissions(c).filter((p) => p.name === "net"), [
    { name: "net", host: "127.0.0.1:2222", reason: "-netdev n0 hostfwd=" },
  ]);
  for (
    const [text, re] of [
      ["user,id=n0,hostfwd=udp::5000-:5000", /forwards TCP only/],
      ["user,id=n0,hostfwd=tcp::99999-:22", /hostfwd=tcp::99999-:22: expected/],
      [
        "user,id=n0,hostfwd=tcp::2222-10.0.2.16:22",
        /guest's address is 10\.0\.2\.15/,
      ],
    ] as const
  ) {
    refusedInOneLine(() => parse(text), re, text);
  }
});

Deno.test("hostfwd= carries a TCP connection to Linux's echo server; the recording replays with no socket", async () => {
  const files = await linuxFiles();
  const port = freePort();
  const rr = `${dir}/hostfwd.rr`;
  const args = [
    "-M",
    "virt",
    "-m",
    "128M",
    "-nographic",
    "-bios",
    FW_JUMP,
    "-kernel",
    files.image,
    "-append",
    "console=ttyS0 root=/dev/vda ro ip=dhcp",
    "-drive",
    `file=${files.root},format=raw,if=none,id=d0,snapshot=on`,
    "-device",
    "virtio-blk-device,drive=d0",
    "-netdev",
    `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:7`,
    "-device",
    "virtio-net-device,netdev=n0",
  ];
  const p = new Proc(dejaCommand(
    [
      READ,
      `--allow-read=${dir}`,
      `--allow-net=127.0.0.1:${port}`,
      `--allow-write=${dir}`,
    ],
    [...args, "-icount", `shift=3,rr=record,rrfile=${rr},rrcheck=10000000`],
    "piped",
  ));
  const msg = Uint8Array.from(
    { length: 200_000 },
    (_, i) => (i * 7 + (i >> 10)) & 255,
  );
  try {
    await p.expect(LINUX_PROMPT);
    // Nothing listens on guest port 7 yet: the guest resets the connection.
    const early = await Deno.connect({ hostname: "127.0.0.1", port });
    equal(await early.read(new Uint8Array(16)).catch(() => null), null);
    early.close();
    await p.send("echod 7\n");
    await p.expect(/echod: listening on 7/);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const writing = (async () => {
      for (let at = 0; at < msg.length;) {
        at += await conn.write(msg.subarray(at, at + 10_000));
      }
      await conn.closeWrite();
    })();
    const back = new Uint8Array(msg.length + 1);
    let n = 0;
    for (;;) {
      const got = await conn.read(back.subarray(n));
      if (got === null) break;
      n += got;
    }
    await writing;
    conn.close();
    equal(n, msg.length);
    deepEqual(back.subarray(0, n), msg);
    await p.expect(/echod: 200000 bytes\r?\n/);
    await p.send("poweroff\n");
  } catch (e) {
    p.kill();
    throw e;
  }
  const rec = await p.done();
  equal(rec.code, 0, rec.err);
  match(
    rec.err,
    /hostfwd 127\.0\.0\.1:\d+: the guest refused or reset the connection to port 7/,
  );
  // The replay: no listener, no --allow-net; the same console and hashes.
  const rep = await deja([READ, `--allow-read=${dir}`], [
    ...args,
    "-icount",
    `shift=3,rr=replay,rrfile=${rr}`,
  ]);
  equal(rep.code, 0, rep.stderr);
  equal(
    rep.stdout.replace(/\r/g, "").trimEnd(),
    rec.out.replace(/\r/g, "").trimEnd(),
  );
});

Deno.test("cleanup", () => {
  Deno.removeSync(dir, { recursive: true });
});
