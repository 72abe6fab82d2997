// virtio-net with the built-in user network: Debian's U-Boot gets an
// address by DHCP, pings the gateway and fetches a file by TFTP; the session
// is recorded (incoming frames as net-rx inputs) and replays with the
// backend off; a cut frame in a log is an error that names it.

import { equal, match, ok, throws } from "node:assert/strict";
import { Console, crc32, readFirmware, typist } from "./_console.ts";
import { tftpDirectory, UserNetwork } from "../plugins/net_user.ts";
import { assertReplayMatches, record, replay } from "../replay/session.ts";
import { ReplayLogReader } from "../replay/log.ts";
import { Runner } from "../replay/runner.ts";
import { arraySource } from "../replay/nondet.ts";
import { HOST_CLOCK } from "../devices/events.ts";

const machine = {
  bios: readFirmware(
    "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf",
    "opensbi",
  ),
  kernel: readFirmware(
    "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin",
    "u-boot-qemu",
  ),
  memoryBytes: 128 << 20,
  hostClock: () => 1_700_000_000_000_000_000n,
};

const dir = Deno.makeTempDirSync({ prefix: "deja_tftp_" });
const FILE = new Uint8Array(100_003);
for (let i = 0; i < FILE.length; i++) FILE[i] = (i * 31 + (i >> 8)) & 0xff;
Deno.writeFileSync(`${dir}/file.bin`, FILE);
const CRC = crc32(FILE).toString(16).padStart(8, "0");
const user = () => new UserNetwork({ readFile: tftpDirectory(dir) });

function command(con: Console, cmd: string): string {
  con.send(cmd + "\n");
  const out = con.expect(/\n=> $/, 5e9);
  return out.slice(out.indexOf("\n") + 1, out.length - 3);
}

for (const legacy of [true, false]) {
  Deno.test(`U-Boot dhcp, ping and tftpboot over virtio-net (virtio-mmio version ${legacy ? 1 : 2})`, () => {
    const con = new Console({
      ...machine,
      virtio: [{ kind: "net", backend: user() }],
      virtioLegacy: legacy,
    });
    con.expect("Hit any key to stop autoboot");
    con.send(" ");
    con.expect(/=> $/);
    command(con, "setenv autoload no");
    match(command(con, "dhcp"), /DHCP client bound to address 10\.0\.2\.15/);
    equal(
      command(con, "echo $serverip $netmask $gatewayip").trim(),
      "10.0.2.2 255.255.255.0 10.0.2.2",
    );
    match(command(con, "ping 10.0.2.2"), /host 10\.0\.2\.2 is alive/);
    match(
      command(con, "tftpboot 0x84000000 file.bin"),
      /Bytes transferred = 100003 /,
    );
    match(
      command(con, "crc32 0x84000000 ${filesize}"),
      new RegExp(`==> ${CRC}`),
    );
    match(
      command(con, "tftpboot 0x84000000 ../etc/passwd"),
      /TFTP error: 'File not found: \.\.\/etc\/passwd'/,
    );
    for (const s of con.machine.virtioSlots) equal(s.lastError, undefined);
  });
}

Deno.test("A U-Boot dhcp + tftpboot session replays from the log with the network backend off", async () => {
  const rec = await record({
    ...machine,
    virtio: [{ kind: "net", backend: user() }, { kind: "rng" }],
    input: typist([
      " ",
      "setenv autoload no\n",
      "dhcp\n",
      "tftpboot 0x84000000 file.bin\n",
      "crc32 0x84000000 ${filesize}\n",
      "poweroff\n",
    ]),
    rrcheck: 5_000_000,
  });
  match(rec.output, new RegExp(`==> ${CRC}`));
  equal(rec.exit?.kind, "poweroff");
  const frames = [...new ReplayLogReader(rec.log)].filter((e) =>
    e.kind === "plugin-event" && e.event === "net-rx"
  );
  // DHCP offer and ack, ARP, and one TFTP DATA per 512 bytes.
  ok(frames.length > 190, `${frames.length} frames logged`);
  // No backend in the replay: every frame comes from the log.
  Deno.removeSync(`${dir}/file.bin`);
  const rep = await replay(rec.log, {
    ...machine,
    virtio: [{ kind: "net" }, { kind: "rng" }],
  });
  assertReplayMatches(rec, rep);
  ok(rep.checks > 3, `${rep.checks} state hashes compared`);
  Deno.writeFileSync(`${dir}/file.bin`, FILE);
});

Deno.test("A log whose network frame is cut stops the replay with an error naming it", () => {
  const runner = new Runner({
    machine: { ...machine, virtio: [{ kind: "net" }] },
    replay: arraySource([
      {
        kind: "input",
        icount: 0,
        event: HOST_CLOCK.name,
        payload: HOST_CLOCK.encode(1_700_000_000_000_000_000n),
      },
      {
        kind: "input",
        icount: 1000,
        event: "net-rx",
        payload: new Uint8Array([0, 1, 2]),
      },
    ]),
  });
  throws(
    () => runner.run(10_000),
    /Cannot decode a network frame: expected at least 15 bytes .*got 3/,
  );
});

Deno.test("cleanup", () => {
  Deno.removeSync(dir, { recursive: true });
});
