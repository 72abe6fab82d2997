// Linux on deja: the committed kernel (tests/guest/linux/Image.gz, built by
// tests/guest/linux/build.sh from Debian's linux-source-6.1) boots under
// OpenSBI with its root file system on virtio-blk (made at test time by
// tests/guest/linux/rootfs.sh), gets 10.0.2.15 by DHCP from the built-in user
// network, pings the gateway, fetches a file by TFTP, reads /dev/hwrng and
// the goldfish RTC, and powers off; a recorded session replays exactly with
// the network backend off and the image file unchanged.

import { equal, match, notEqual, ok } from "node:assert/strict";
import { Console, crc32, readFirmware, typist } from "./_console.ts";
import { imageIdentity, openDrive } from "../plugins/block_backends.ts";
import { tftpDirectory, UserNetwork } from "../plugins/net_user.ts";
import { assertReplayMatches, record, replay } from "../replay/session.ts";
import { ReplayLogReader } from "../replay/log.ts";
import type { VirtioDeviceConfig } from "../devices/virt.ts";

const LINUX_DIR = new URL("./guest/linux/", import.meta.url).pathname;
const OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic";

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** The committed kernel, unpacked and checked against SHA256SUMS. */
async function kernelImage(): Promise<Uint8Array> {
  const gz = Deno.readFileSync(`${LINUX_DIR}/Image.gz`);
  const image = new Uint8Array(
    await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const sums = Deno.readTextFileSync(`${LINUX_DIR}/SHA256SUMS`);
  const want = sums.match(/^([0-9a-f]{64}) +Image$/m)?.[1];
  equal(await sha256(image), want, "Image.gz does not unpack to SHA256SUMS");
  return image;
}

/** Build the root file system image (tests/guest/linux/rootfs.sh). */
function buildRoot(path: string): void {
  const out = new Deno.Command("sh", {
    args: [`${LINUX_DIR}/rootfs.sh`, path],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    throw new Error(
      `tests/guest/linux/rootfs.sh failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

const dir = Deno.makeTempDirSync({ prefix: "deja_linux_" });
const ROOT_IMG = `${dir}/root.img`;
buildRoot(ROOT_IMG);
Deno.mkdirSync(`${dir}/tftp`);
const FILE = new Uint8Array(50_001);
for (let i = 0; i < FILE.length; i++) FILE[i] = (i * 7 + (i >> 9)) & 0xff;
Deno.writeFileSync(`${dir}/tftp/file.bin`, FILE);
const CRC = crc32(FILE).toString(16).padStart(8, "0");

// 2026-12-04 00:00:00 UTC, as the host clock the RTC starts from.
const HOST_SECONDS = 1_796_342_400;
const machine = {
  kernel: await kernelImage(),
  append: "console=ttyS0 root=/dev/vda rw ip=dhcp",
  memoryBytes: 128 << 20,
  hostClock: () => BigInt(HOST_SECONDS) * 1_000_000_000n,
};
const fw = (name: string) => readFirmware(`${OPENSBI}/${name}`, "opensbi");
const PROMPT = /\ndeja# $/;

function command(con: Console, cmd: string, maxInsns = 3e9): string {
  con.send(cmd + "\n");
  const out = con.expect(PROMPT, maxInsns);
  // Drop the echoed command line and the next prompt.
  return out.slice(out.indexOf("\n") + 1, out.length - "\ndeja# ".length)
    .replaceAll("\r", "");
}

function devices(
  image: VirtioDeviceConfig & { kind: "blk" },
  network = true,
): VirtioDeviceConfig[] {
  return [
    image,
    network
      ? {
        kind: "net",
        backend: new UserNetwork({ readFile: tftpDirectory(`${dir}/tftp`) }),
      }
      : { kind: "net" },
    { kind: "rng" },
  ];
}

Deno.test("rootfs.sh builds the same root image twice", async () => {
  const again = `${dir}/again.img`;
  buildRoot(again);
  equal(
    await sha256(Deno.readFileSync(again)),
    await sha256(Deno.readFileSync(ROOT_IMG)),
  );
  Deno.removeSync(again);
});

for (const firmware of ["fw_jump.elf", "fw_dynamic.elf"]) {
  Deno.test(`Linux boots under OpenSBI ${firmware} with a virtio-blk root, DHCP, ping, TFTP, hwrng, the RTC and poweroff`, async (t) => {
    const before = await imageIdentity(ROOT_IMG);
    const drive = openDrive({ file: ROOT_IMG, format: "raw", snapshot: true });
    const con = new Console({
      ...machine,
      bios: fw(firmware),
      virtio: devices({ kind: "blk", image: drive.image }),
    });
    const boot = con.expect(PROMPT, 4e9);
    await t.step(
      "the host sees the prompt before idle warps move guest time on",
      () => {
        // The run returns when the guest printed and idles (the host's turn),
        // so the first command is typed at the prompt's guest time: 0.17 s,
        // as on QEMU -icount shift=3,sleep=off (0.18 s); it used to come after
        // the rest of the 1M-instruction budget's warps, ~175 s.
        const up = command(con, "cat /proc/uptime").match(/^(\d+\.\d+) /m);
        ok(up, "cat /proc/uptime printed no uptime");
        ok(+up[1]! < 1, `uptime ${up[1]} s at the first prompt`);
      },
    );
    await t.step("the kernel finds the devices and mounts /dev/vda", () => {
      match(
        boot,
        /virtio_blk virtio\d+: \[vda\] 32768 512-byte logical blocks/,
      );
      match(boot, /IP-Config: Complete:/);
      match(boot, /VFS: Mounted root \(ext2 filesystem\) on device 254:0/);
      match(
        command(con, "cat /proc/mounts"),
        /^\/dev\/root \/ ext2 rw[^\n]*\n/m,
      );
      match(command(con, "cat /etc/issue"), /^deja test root$/m);
      match(command(con, "ls /sbin"), /^100755 +\d+ init$/m);
    });
    await t.step("eth0 has 10.0.2.15 from DHCP", () => {
      equal(command(con, "ip").trim(), "eth0 10.0.2.15 netmask 255.255.255.0");
    });
    await t.step("ping 10.0.2.2 gets its replies", () => {
      const out = command(con, "ping 10.0.2.2 3");
      match(out, /^64 bytes from 10\.0\.2\.2: icmp_seq=3 ttl=\d+/m);
      match(out, /ping: 3 sent, 3 received/);
    });
    await t.step("tftp fetches the file with its CRC-32", () => {
      match(
        command(con, "tftp 10.0.2.2 file.bin"),
        new RegExp(`tftp: file\\.bin: 50001 bytes, crc32 ${CRC}`),
      );
      match(command(con, "tftp 10.0.2.2 nope.bin"), /tftp: error 1: /);
    });
    await t.step("/dev/hwrng gives bytes", () => {
      const hex = (s: string) => s.match(/^hwrng:\n([0-9a-f]{64})$/m)?.[1];
      const a = hex(command(con, "hwrng 32")),
        b = hex(command(con, "hwrng 32"));
      ok(a && b, "hwrng printed no 32 bytes");
      notEqual(a, b);
      notEqual(a, "0".repeat(64));
    });
    await t.step(
      "the goldfish RTC keeps the host clock plus guest time",
      () => {
        const out = command(con, "date");
        const m = out.match(
          /^rtc0: (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC$/m,
        );
        const up = out.match(/^time: (\d+) uptime: (\d+)$/m);
        ok(m && up, `date printed no RTC time: ${out}`);
        const rtc =
          Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) /
          1000;
        // The RTC started at the host clock with the machine; the kernel
        // started a fraction of a second later.
        const since = rtc - HOST_SECONDS, uptime = +up[2]!;
        ok(
          since >= uptime && since <= uptime + 2,
          `RTC ${m[0]} is ${since} s after the host clock, uptime ${uptime} s`,
        );
        ok(Math.abs(+up[1]! - rtc) <= 1, "the system time follows the RTC");
      },
    );
    await t.step(
      "the disk reads whole and takes writes (in the overlay)",
      () => {
        match(command(con, "readblk /dev/vda"), /readblk: 16777216 bytes in /);
        command(con, "write /note.txt written by the test");
        equal(command(con, "cat /note.txt"), "written by the test");
      },
    );
    if (firmware === "fw_dynamic.elf") {
      await t.step("reboot resets the board and Linux comes back", () => {
        con.send("reboot\n");
        const again = con.expect(PROMPT, 4e9);
        match(again, /reboot: Restarting system/);
        match(again, /virtio_blk virtio\d+: \[vda\]/);
        match(again, /IP-Config: Complete:/);
        equal(command(con, "cat /note.txt"), "written by the test");
      });
    }
    await t.step("poweroff ends the run with status 0", async () => {
      con.send("poweroff\n");
      const r = con.runToExit(2e9);
      equal(r.kind, "exit");
      ok(r.kind === "exit");
      equal(r.status.kind, "poweroff");
      equal(r.status.kind === "poweroff" && r.status.code, 0);
      for (const s of con.machine.virtioSlots) equal(s.lastError, undefined);
      drive.close();
      equal((await imageIdentity(ROOT_IMG)).sha256, before.sha256);
    });
  });
}

Deno.test("A recorded Linux session (disk, network, hwrng) replays exactly with the network off; the image is unchanged", async () => {
  const identity = await imageIdentity(ROOT_IMG);
  const disk = () => ({
    kind: "blk" as const,
    image: openDrive({ file: ROOT_IMG, format: "raw" }, true).image,
    identity,
  });
  const session = [
    "cat /proc/mounts\n",
    "ip\n",
    "tftp 10.0.2.2 file.bin\n",
    "hwrng 16\n",
    "write /rr.txt recorded\n",
    "cat /rr.txt\n",
    "poweroff\n",
  ];
  const rec = await record({
    ...machine,
    bios: fw("fw_jump.elf"),
    virtio: devices(disk()),
    input: typist(session, /deja# /g),
    rrcheck: 2_000_000,
    maxInsns: 6e9,
  });
  match(rec.output, new RegExp(`50001 bytes, crc32 ${CRC}`));
  match(rec.output, /^recorded\r?$/m);
  match(rec.output, /eth0 10\.0\.2\.15/);
  equal(rec.exit?.kind, "poweroff");
  equal(rec.exit?.code, 0);
  const logged = [...new ReplayLogReader(rec.log)];
  const frames = logged.filter((e) =>
    e.kind === "plugin-event" && e.event === "net-rx"
  );
  // DHCP, ARP and one TFTP DATA frame per 512 bytes of the file.
  ok(frames.length > 100, `${frames.length} frames logged`);
  // The kernel's and hwrng's reads of virtio-rng.
  ok(logged.some((e) => e.kind === "random"), "no entropy logged");
  // No backend in the replay: the TFTP file is gone, frames come from the log.
  Deno.removeSync(`${dir}/tftp/file.bin`);
  const rep = await replay(rec.log, {
    ...machine,
    bios: fw("fw_jump.elf"),
    virtio: devices(disk(), false),
    maxInsns: 6e9,
  });
  assertReplayMatches(rec, rep);
  ok(rep.checks > 10, `${rep.checks} state hashes compared`);
  equal((await imageIdentity(ROOT_IMG)).sha256, identity.sha256);
  Deno.writeFileSync(`${dir}/tftp/file.bin`, FILE);
});

Deno.test("cleanup", () => {
  Deno.removeSync(dir, { recursive: true });
});
