// virtio-blk end to end: disk images made at test time (mke2fs -d from
// e2fsprogs, qemu-img from qemu-utils), read by Debian's real U-Boot through
// deja's virtio-mmio transport, recorded and replayed with the image
// unchanged; and the qcow2 reader against qemu-img's own images.

import { equal, match, ok, rejects, throws } from "node:assert/strict";
import { Console, crc32, readFirmware, typist } from "./_console.ts";
import {
  DiskImageError,
  imageIdentity,
  openDrive,
} from "../plugins/block_backends.ts";
import { assertReplayMatches, record, replay } from "../replay/session.ts";
import { ReplayConfigError } from "../replay/config.ts";
import type { VirtioDeviceConfig } from "../devices/virt.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const machine = {
  bios: readFirmware(FW_JUMP, "opensbi"),
  kernel: readFirmware(UBOOT_S, "u-boot-qemu"),
  memoryBytes: 128 << 20,
  hostClock: () => 1_700_000_000_000_000_000n,
};

function run(cmd: string, args: string[], pkg: string): void {
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" })
      .outputSync();
  } catch (e) {
    throw new Error(
      `Cannot run ${cmd}: install the Debian package ${pkg} (apt-get install ${pkg})`,
      { cause: e },
    );
  }
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

// The test images: an ext4 file system with a 300,000-byte file of
// pseudo-random bytes and a text file, as raw and as qcow2 (v3 and v2).
const dir = Deno.makeTempDirSync({ prefix: "deja_virtio_" });
const DATA = new Uint8Array(300_000);
{
  let s = 12345;
  for (let i = 0; i < DATA.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    DATA[i] = s >>> 24;
  }
}
Deno.mkdirSync(`${dir}/root/boot`, { recursive: true });
Deno.writeFileSync(`${dir}/root/boot/data.bin`, DATA);
Deno.writeTextFileSync(`${dir}/root/hello.txt`, "hello from deja\n");
const RAW = `${dir}/disk.img`;
const QCOW2 = `${dir}/disk.qcow2`;
const QCOW2_V2 = `${dir}/disk_v2.qcow2`;
run("mke2fs", [
  "-q",
  "-t",
  "ext4",
  "-E",
  "root_owner=0:0",
  "-d",
  `${dir}/root`,
  RAW,
  "8M",
], "e2fsprogs");
run("qemu-img", ["convert", "-O", "qcow2", RAW, QCOW2], "qemu-utils");
run(
  "qemu-img",
  ["convert", "-O", "qcow2", "-o", "compat=0.10", RAW, QCOW2_V2],
  "qemu-utils",
);
const DATA_CRC = crc32(DATA).toString(16).padStart(8, "0");

function command(con: Console, cmd: string): string {
  con.send(cmd + "\n");
  const out = con.expect(/\n=> $/, 5e9);
  return out.slice(out.indexOf("\n") + 1, out.length - 3);
}

function uboot(virtio: VirtioDeviceConfig[], legacy = true): Console {
  const con = new Console({ ...machine, virtio, virtioLegacy: legacy });
  con.expect("Hit any key to stop autoboot");
  con.send(" ");
  con.expect(/=> $/);
  return con;
}

async function readsTheDisk(
  t: Deno.TestContext,
  file: string,
  format: "raw" | "qcow2",
  legacy: boolean,
) {
  const before = await imageIdentity(file);
  const drive = openDrive({ file, format, snapshot: true });
  const con = uboot([{ kind: "blk", image: drive.image }], legacy);
  await t.step("virtio scan and virtio info find the disk", () => {
    command(con, "virtio scan");
    const info = command(con, "virtio info");
    match(info, /Device 0: QEMU VirtIO Block Device/);
    match(info, /Capacity: 8\.0 MB = 0\.0 GB \(16384 x 512\)/);
  });
  await t.step("ls and ext4ls list the files", () => {
    const ls = command(con, "ls virtio 0");
    match(ls, /<DIR> +1024 boot/);
    match(ls, / 16 hello\.txt/);
    match(command(con, "ext4ls virtio 0 /boot"), / 300000 data\.bin/);
  });
  await t.step("load reads the file byte for byte (crc32)", () => {
    match(
      command(con, "load virtio 0 0x84000000 /boot/data.bin"),
      /300000 bytes read/,
    );
    match(
      command(con, "crc32 0x84000000 ${filesize}"),
      new RegExp(`==> ${DATA_CRC}`),
    );
  });
  await t.step(
    "virtio write goes to the overlay; the file is unchanged",
    async () => {
      command(con, "mw.b 0x85000000 0x5a 0x400");
      match(
        command(con, "virtio write 0x85000000 0x3000 2"),
        /2 blocks written: OK/,
      );
      command(con, "mw.b 0x86000000 0 0x400");
      match(
        command(con, "virtio read 0x86000000 0x3000 2"),
        /2 blocks read: OK/,
      );
      const want = crc32(new Uint8Array(0x400).fill(0x5a)).toString(16)
        .padStart(8, "0");
      match(command(con, "crc32 0x86000000 0x400"), new RegExp(`==> ${want}`));
      drive.close();
      const after = await imageIdentity(file);
      equal(after.sha256, before.sha256);
    },
  );
  for (const s of con.machine.virtioSlots) equal(s.lastError, undefined);
}

Deno.test("U-Boot reads an ext4 raw image over legacy virtio-mmio (QEMU's default)", async (t) => {
  await readsTheDisk(t, RAW, "raw", true);
});

Deno.test("U-Boot reads the qcow2 conversion over virtio-mmio version 2", async (t) => {
  await readsTheDisk(t, QCOW2, "qcow2", false);
});

Deno.test("qcow2 images (v3 and v2) read the same as their raw original", () => {
  const raw = openDrive({ file: RAW, format: "raw", readonly: true });
  for (const f of [QCOW2, QCOW2_V2]) {
    const q = openDrive({ file: f, format: "qcow2", readonly: true });
    equal(q.image.size, raw.image.size);
    const a = new Uint8Array(raw.image.size), b = new Uint8Array(q.image.size);
    raw.image.read(0, a);
    q.image.read(0, b);
    ok(a.every((x, i) => x === b[i]), `${f} differs from the raw image`);
    // Unaligned reads across clusters too.
    const c = new Uint8Array(70_001);
    q.image.read(65_000, c);
    ok(c.every((x, i) => x === a[65_000 + i]));
    q.close();
  }
  raw.close();
  // A huge sparse image (qemu-img create) opens at once and reads zeros.
  const big = `${dir}/big.qcow2`;
  run("qemu-img", ["create", "-f", "qcow2", big, "1T"], "qemu-utils");
  const b = openDrive({ file: big, format: "qcow2", readonly: true });
  equal(b.image.size, 2 ** 40);
  const z = new Uint8Array(4096).fill(1);
  b.image.read(2 ** 39 + 12345, z);
  ok(z.every((x) => x === 0));
  b.close();
});

Deno.test("Bad images are refused with the problem named", async (t) => {
  const bytes = Deno.readFileSync(QCOW2);
  const open = (
    name: string,
    data: Uint8Array,
    format: "raw" | "qcow2" = "qcow2",
  ) => {
    const p = `${dir}/${name}`;
    Deno.writeFileSync(p, data);
    return () => openDrive({ file: p, format, snapshot: true });
  };
  await t.step("a truncated qcow2", () => {
    throws(open("cut.qcow2", bytes.slice(0, 0x30000)), (e: Error) => {
      ok(e instanceof DiskImageError);
      match(e.message, /^Cannot open .*cut\.qcow2 as qcow2: .*truncated/);
      return true;
    });
    throws(
      open("tiny.qcow2", bytes.slice(0, 40)),
      /too few for a qcow2 header \(truncated\)/,
    );
  });
  await t.step("a corrupt L1 table", () => {
    const bad = bytes.slice();
    const v = new DataView(bad.buffer);
    const l1 = Number(v.getBigUint64(40));
    v.setBigUint64(l1, 0x8000_0000_7fff_0000n); // an L2 table far past the end
    throws(
      open("corrupt.qcow2", bad),
      /L1 entry 0 points at offset .* truncated or corrupt/,
    );
  });
  await t.step("a raw file given as qcow2", () => {
    throws(
      open("raw.qcow2", new Uint8Array(4096)),
      /no qcow2 magic.*format=raw/,
    );
  });
  await t.step("a compressed qcow2", () => {
    const p = `${dir}/c.qcow2`;
    run("qemu-img", ["convert", "-c", "-O", "qcow2", RAW, p], "qemu-utils");
    throws(
      () => openDrive({ file: p, format: "qcow2", snapshot: true }),
      /is compressed, which deja does not read/,
    );
  });
  await t.step("a qcow2 with a backing file", () => {
    const p = `${dir}/b.qcow2`;
    run(
      "qemu-img",
      ["create", "-f", "qcow2", "-F", "raw", "-b", RAW, p],
      "qemu-utils",
    );
    throws(
      () => openDrive({ file: p, format: "qcow2", snapshot: true }),
      /has a backing file/,
    );
  });
  await t.step("a writable qcow2", () => {
    throws(
      () => openDrive({ file: QCOW2, format: "qcow2" }),
      /does not write them; add snapshot=on/,
    );
  });
  await t.step("a missing file and a raw file of odd size", () => {
    throws(
      () => openDrive({ file: `${dir}/nope.img` }),
      /^DiskImageError: Cannot open the drive image .*nope\.img/,
    );
    throws(
      open("odd.img", new Uint8Array(1000), "raw"),
      /not a whole number of 512-byte sectors/,
    );
  });
});

Deno.test("A U-Boot session that reads and writes the disk replays exactly; the image is unchanged", async () => {
  const identity = await imageIdentity(RAW);
  const disk = (file = RAW, id = identity): VirtioDeviceConfig[] => [{
    kind: "blk",
    image: openDrive({ file, format: "raw" }, true).image,
    identity: id,
  }, { kind: "rng" }];
  const session = [
    " ",
    "virtio scan\n",
    "load virtio 0 0x84000000 /boot/data.bin\n",
    "crc32 0x84000000 ${filesize}\n",
    "mw.b 0x85000000 0xa5 0x200\n",
    "virtio write 0x85000000 0x2800 1\n",
    "virtio read 0x86000000 0x2800 1\n",
    "crc32 0x86000000 0x200\n",
    "poweroff\n",
  ];
  const rec = await record({
    ...machine,
    virtio: disk(),
    input: typist(session),
    rrcheck: 5_000_000,
  });
  match(rec.output, new RegExp(`==> ${DATA_CRC}`));
  match(rec.output, /1 blocks written: OK/);
  equal(rec.exit?.kind, "poweroff");
  const rep = await replay(rec.log, { ...machine, virtio: disk() });
  assertReplayMatches(rec, rep);
  ok(rep.checks > 5, `${rep.checks} state hashes compared`);
  equal((await imageIdentity(RAW)).sha256, identity.sha256);

  // Another image: refused before the replay starts.
  const other = `${dir}/other.img`;
  const b = Deno.readFileSync(RAW);
  b[0x100000] = b[0x100000]! ^ 1;
  Deno.writeFileSync(other, b);
  await rejects(
    async () =>
      replay(rec.log, {
        ...machine,
        virtio: disk(other, await imageIdentity(other)),
      }),
    (e: Error) => {
      ok(e instanceof ReplayConfigError);
      match(
        e.message,
        /disk image of virtio device 1 \(virtio-blk\) differs: recorded sha256 [0-9a-f]{16}… \(8388608 bytes\), given sha256/,
      );
      return true;
    },
  );
  // No disk at all: refused too.
  await rejects(
    () => replay(rec.log, { ...machine, virtio: [{ kind: "rng" }] }),
    /virtio devices differ: recorded blk, rng, given rng/,
  );
});

Deno.test("cleanup", () => {
  Deno.removeSync(dir, { recursive: true });
});
