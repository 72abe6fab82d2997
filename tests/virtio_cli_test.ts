// The deja command with QEMU's virtio options: -drive (raw, qcow2, the
// blkreplay form), -device virtio-blk-device and virtio-rng-device; a
// recorded U-Boot session that reads the disk replays with the same output,
// the image unchanged; a replay with another image, and bad images, are
// refused in one line.

import { equal, match, ok } from "node:assert/strict";
import { deja, dejaCommand, ROOT } from "./_deja.ts";
import { imageIdentity } from "../plugins/block_backends.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const dir = Deno.makeTempDirSync({ prefix: "deja_virtio_cli_" });
const IMG = `${dir}/disk.img`;
Deno.mkdirSync(`${dir}/root`);
Deno.writeTextFileSync(`${dir}/root/hello.txt`, "hello from a virtio disk\n");
{
  const out = new Deno.Command("mke2fs", {
    args: ["-q", "-t", "ext4", "-d", `${dir}/root`, IMG, "4M"],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    throw new Error(
      `mke2fs failed (apt-get install e2fsprogs): ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

const READ =
  `--allow-read=${ROOT},/usr/lib/riscv64-linux-gnu,/usr/lib/u-boot,${dir}`;
const args = (img: string) => [
  "-M",
  "virt",
  "-m",
  "128M",
  "-nographic",
  "-bios",
  FW_JUMP,
  "-kernel",
  UBOOT_S,
  "-drive",
  `file=${img},format=raw,if=none,id=d0`,
  "-drive",
  "driver=blkreplay,if=none,image=d0,id=d1",
  "-device",
  "virtio-blk-device,drive=d1",
  "-device",
  "virtio-rng-device",
];

/** Run deja, typing each command at U-Boot's next prompt. */
async function session(
  extra: string[],
  commands: string[],
): Promise<{ code: number; out: string; err: string }> {
  const child = dejaCommand([READ, `--allow-write=${dir}`], extra, "piped")
    .spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  const dec = new TextDecoder();
  const todo = [...commands];
  let out = "", prompts = 0, stopped = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += dec.decode(value, { stream: true });
    if (!stopped && out.includes("Hit any key to stop autoboot")) {
      stopped = true;
      await writer.write(new TextEncoder().encode(" "));
    }
    const seen = out.match(/=> /g)?.length ?? 0;
    if (seen > prompts && todo.length > 0) {
      prompts = seen;
      await writer.write(new TextEncoder().encode(todo.shift()! + "\n"));
    }
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  const err = dec.decode(
    new Uint8Array(await new Response(child.stderr).arrayBuffer()),
  );
  return { code: status.code, out, err };
}

Deno.test("deja -drive/-device virtio: a recorded U-Boot disk session replays; the image is unchanged", async () => {
  const before = await imageIdentity(IMG);
  const rr = `${dir}/s.rr`;
  const rec = await session(
    [...args(IMG), "-icount", `shift=3,rr=record,rrfile=${rr},rrcheck=5000000`],
    [
      "virtio scan",
      "virtio info",
      "ls virtio 0",
      "load virtio 0 0x84000000 /hello.txt",
      "md.b 0x84000000 0x10",
      "mw.b 0x85000000 0x11 0x200",
      "virtio write 0x85000000 0x100 1",
      "poweroff",
    ],
  );
  equal(rec.code, 0, rec.err);
  match(rec.out, /Device 0: QEMU VirtIO Block Device/);
  match(rec.out, /25 hello\.txt/);
  match(
    rec.out,
    /84000000: 68 65 6c 6c 6f 20 66 72 6f 6d 20 61 20 76 69 72\s+hello from a vir/,
  );
  match(rec.out, /1 blocks written: OK/);
  equal((await imageIdentity(IMG)).sha256, before.sha256);

  const rep = await deja(
    [READ],
    [...args(IMG), "-icount", `shift=3,rr=replay,rrfile=${rr}`],
  );
  equal(rep.code, 0, rep.stderr);
  // The replay shows what the recording showed (stdin is not echoed there).
  ok(rep.stdout.includes("25 hello.txt"));
  ok(rep.stdout.includes("1 blocks written: OK"));
  equal(
    rep.stdout.replace(/\r/g, "").trimEnd(),
    rec.out.replace(/\r/g, "").trimEnd(),
  );
  equal((await imageIdentity(IMG)).sha256, before.sha256);

  // A different image: refused before the run, in one line.
  const other = `${dir}/other.img`;
  const bytes = Deno.readFileSync(IMG);
  bytes[100_000] = bytes[100_000]! ^ 0xff;
  Deno.writeFileSync(other, bytes);
  const bad = await deja(
    [READ],
    [...args(other), "-icount", `shift=3,rr=replay,rrfile=${rr}`],
  );
  equal(bad.code, 1);
  match(
    bad.stderr,
    /^error: Cannot replay this log on this machine: the disk image of virtio device 1 \(virtio-blk\) differs: recorded sha256 [0-9a-f]{16}… \(4194304 bytes\), given sha256 [0-9a-f]{16}… \(4194304 bytes\); replay with the image file the session was recorded with/,
  );
  equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
});

Deno.test("deja refuses bad drives in one line", async () => {
  const cut = `${dir}/cut.qcow2`;
  const q = new Deno.Command("qemu-img", {
    args: ["convert", "-O", "qcow2", IMG, `${dir}/d.qcow2`],
  }).outputSync();
  ok(q.success, "qemu-img convert (apt-get install qemu-utils)");
  Deno.writeFileSync(cut, Deno.readFileSync(`${dir}/d.qcow2`).slice(0, 1000));
  const cases: [string[], RegExp, number][] = [
    [
      ["-drive", `file=${cut},format=qcow2,if=none,id=a,snapshot=on`],
      /^error: Cannot open .*cut\.qcow2 as qcow2: .*truncated/,
      1,
    ],
    [
      ["-drive", `file=${dir}/missing.img,if=none,id=a,readonly=on`],
      /^error: Cannot open the drive image .*missing\.img/,
      1,
    ],
    [
      [],
      /^error: Invalid value for -device: "virtio-blk-device,drive=a"; there is no -drive with id=a/,
      2,
    ],
  ];
  for (const [drive, want, code] of cases) {
    const r = await deja([READ], [
      "-bios",
      "none",
      "-kernel",
      `${ROOT}/examples/guest/demo.elf`,
      ...drive,
      "-device",
      "virtio-blk-device,drive=a",
    ]);
    equal(r.code, code, r.stderr);
    match(r.stderr, want);
    equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

Deno.test("deja -netdev user,tftp=DIR: a recorded dhcp + tftpboot replays with the backend off", async () => {
  const tftp = `${dir}/tftp`;
  Deno.mkdirSync(tftp);
  const file = new Uint8Array(20_000).map((_, i) => (i * 13) & 0xff);
  Deno.writeFileSync(`${tftp}/f.bin`, file);
  const net = [
    "-M",
    "virt",
    "-nographic",
    "-bios",
    FW_JUMP,
    "-kernel",
    UBOOT_S,
    "-netdev",
    `user,id=n0,tftp=${tftp}`,
    "-device",
    "virtio-net-device,netdev=n0",
  ];
  const rr = `${dir}/net.rr`;
  const rec = await session(
    [...net, "-icount", `shift=3,rr=record,rrfile=${rr}`],
    [
      "setenv autoload no",
      "dhcp",
      "tftpboot 0x84000000 f.bin",
      "poweroff",
    ],
  );
  equal(rec.code, 0, rec.err);
  match(rec.out, /DHCP client bound to address 10\.0\.2\.15/);
  match(rec.out, /Bytes transferred = 20000 /);
  // The replay does not read the TFTP directory: remove it.
  Deno.removeSync(tftp, { recursive: true });
  const rep = await deja(
    [READ],
    [...net, "-icount", `shift=3,rr=replay,rrfile=${rr}`],
  );
  equal(rep.code, 0, rep.stderr);
  equal(
    rep.stdout.replace(/\r/g, "").trimEnd(),
    rec.out.replace(/\r/g, "").trimEnd(),
  );
});

Deno.test("cleanup", () => {
  Deno.removeSync(dir, { recursive: true });
});
