// Integration tests: Debian's real OpenSBI and U-Boot boot on the virt board
// and answer commands typed on the serial console.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Console, crc32, readFirmware } from "./_console.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const UBOOT_M = "/usr/lib/u-boot/qemu-riscv64/u-boot.bin";

/** Type a command at the `=> ` prompt and return what it printed. */
function command(con: Console, cmd: string): string {
  con.send(cmd + "\n");
  const out = con.expect(/\n=> $/);
  // Drop the echoed command line and the next prompt.
  return out.slice(out.indexOf("\n") + 1, out.length - 3);
}

function drive(con: Console, t: Deno.TestContext, mode: "S" | "M") {
  return async () => {
    con.send(" "); // stop autoboot
    con.expect(/=> $/);

    await t.step("version names U-Boot 2023.01", () => {
      match(command(con, "version"), /^U-Boot 2023\.01/);
    });

    await t.step("bdinfo reports the DRAM bank", () => {
      const out = command(con, "bdinfo");
      match(out, /DRAM bank\s+= 0x0+\r?\n-> start\s+= 0x0*80000000/);
      match(out, /-> size\s+= 0x0*8000000\r?\n/);
      match(out, /memory\[0\]\s+\[0x80000000-0x87ffffff\]/);
    });

    await t.step("mw and md round-trip a word", () => {
      command(con, "mw.l 0x80400000 0x12345678 2");
      match(
        command(con, "md.l 0x80400000 2"),
        /^80400000: 12345678 12345678 /,
      );
    });

    await t.step("crc32 matches the host's CRC-32", () => {
      const want = crc32(new Uint8Array([0x78, 0x56, 0x34, 0x12, 0x78, 0x56]));
      const out = command(con, "crc32 0x80400000 6");
      match(out, new RegExp(`==> ${want.toString(16).padStart(8, "0")}`));
    });

    await t.step("setexpr computes in hex", () => {
      command(con, "setexpr a 0x10 * 3");
      equal(command(con, "echo $a").trim(), "30");
      command(con, "setexpr b 0xff - 0x0f");
      equal(command(con, "echo $b").trim(), "f0");
    });

    await t.step("sleep 1 takes one second of guest time", () => {
      const m = con.machine;
      const before = m.clock.nowNs();
      command(con, "sleep 1");
      const elapsed = m.clock.nowNs() - before;
      ok(elapsed >= 1e9, `sleep 1 took ${elapsed} ns of guest time`);
      ok(elapsed < 1.2e9, `sleep 1 took ${elapsed} ns of guest time`);
    });

    if (mode === "S") {
      await t.step("sbi reports OpenSBI through the SBI calls", () => {
        const out = command(con, "sbi");
        match(out, /SBI 1\.0/);
        match(out, /OpenSBI 1\.1/);
      });
    }

    await t.step(`the hart runs U-Boot in ${mode}-mode`, () => {
      equal(con.machine.cpu.priv, mode === "S" ? 1 : 3);
    });

    await t.step("poweroff ends the run with status 0", () => {
      con.send("poweroff\n");
      const r = con.runToExit();
      equal(r.kind, "exit");
      if (r.kind === "exit") {
        deepEqual(r.status, { kind: "poweroff", code: 0 });
      }
    });
  };
}

Deno.test("OpenSBI fw_jump boots S-mode U-Boot, which answers commands", async (t) => {
  const con = new Console({
    bios: readFirmware(FW_JUMP, "opensbi"),
    kernel: readFirmware(UBOOT_S, "u-boot-qemu"),
    memoryBytes: 128 << 20,
  });
  const banner = con.expect("Hit any key to stop autoboot");
  match(banner, /OpenSBI v1\.\d/);
  match(banner, /Platform Name\s+: riscv-virtio,qemu/);
  match(banner, /Domain0 Next Address\s+: 0x0000000080200000/);
  match(banner, /Boot HART ISA Extensions\s+: time,sstc/);
  match(banner, /Boot HART PMP Count\s+: 16/);
  match(banner, /DRAM:\s+128 MiB/);
  await drive(con, t, "S")();
});

Deno.test("M-mode U-Boot boots with -bios and answers commands", async (t) => {
  const con = new Console({
    bios: readFirmware(UBOOT_M, "u-boot-qemu"),
    memoryBytes: 128 << 20,
  });
  const banner = con.expect("Hit any key to stop autoboot");
  match(banner, /U-Boot 2023\.01/);
  match(banner, /DRAM:\s+128 MiB/);
  await drive(con, t, "M")();
});

Deno.test("U-Boot's reset reboots the board, or ends the run with -no-reboot", async (t) => {
  await t.step("reset reboots into U-Boot again", () => {
    const con = new Console({ bios: readFirmware(UBOOT_M, "u-boot-qemu") });
    con.expect("Hit any key to stop autoboot");
    con.send(" ");
    con.expect(/=> $/);
    con.send("reset\n");
    con.expect("Hit any key to stop autoboot");
    equal(con.machine.exitStatus, undefined);
  });
  await t.step("with noReboot, reset ends the run", () => {
    const con = new Console({
      bios: readFirmware(UBOOT_M, "u-boot-qemu"),
      noReboot: true,
    });
    con.expect("Hit any key to stop autoboot");
    con.send(" ");
    con.expect(/=> $/);
    con.send("reset\n");
    const r = con.runToExit();
    deepEqual(r.kind === "exit" ? r.status.kind : r.kind, "reset");
  });
});
