// The host's turn: a live run under warpIdle (QEMU's sleep=off) that made
// the guest print returns before its next idle warp, so the host sees the
// output (a prompt) and answers at that point of guest time, not after the
// rest of the budget's warps; replays and plain board runs are unchanged.

import { equal, ok } from "node:assert/strict";
import { Runner } from "../replay/runner.ts";
import { arraySource } from "../replay/nondet.ts";
import type { NondetEvent } from "../replay/nondet.ts";
import { VirtMachine } from "../devices/virt.ts";
import { SERIAL_INPUT } from "../devices/events.ts";

// M-mode, at 0x80000000 (after the boot ROM): print '>', then forever: mtimecmp = mtime + 1 s,
// wfi (MTIE on, interrupts off globally: wfi wakes, no trap).
const PROGRAM = [
  0x100002b7, // lui   t0, 0x10000        (UART)
  0x03e00313, // li    t1, '>'
  0x00628023, // sb    t1, 0(t0)
  0x020043b7, // lui   t2, 0x2004         (mtimecmp)
  0x0200ce37, // lui   t3, 0x200c
  0xff8e0e13, // addi  t3, t3, -8         (mtime)
  0x00989f37, // lui   t5, 0x989
  0x680f0f1b, // addiw t5, t5, 1664       (10,000,000 ticks: 1 s)
  0x08000f93, // li    t6, 0x80           (MTIE)
  0x304f9073, // csrw  mie, t6
  0x000e3e83, // 1: ld t4, 0(t3)
  0x01ee8eb3, //    add t4, t4, t5
  0x01d3b023, //    sd  t4, 0(t2)
  0x10500073, //    wfi
  0xff1ff06f, //    j   1b
];
const kernel = new Uint8Array(new Uint32Array(PROGRAM).buffer);

function board(sink: (text: string) => void) {
  const dec = new TextDecoder();
  return {
    bios: "none" as const,
    kernel,
    memoryBytes: 1 << 20,
    output: (b: Uint8Array) => sink(dec.decode(b)),
  };
}

Deno.test("A live warpIdle run returns when the guest printed and idles, before the clock jumps; the replay runs through", async () => {
  let text = "";
  const log: NondetEvent[] = [];
  const rec = new Runner({
    machine: board((t) => text += t),
    record: (e) => log.push(e),
    warpIdle: true,
  });
  const m = rec.machine;
  const r1 = rec.run(1_000_000);
  equal(r1.kind, "budget");
  equal(text, ">", "the prompt reached the host");
  // Stopped at the first wfi (after the boot ROM and the setup): no warp
  // yet; it used to warp on through the budget, ~200,000 s of guest time.
  ok(m.cpu.icount < 30, `stopped at instruction ${m.cpu.icount}`);
  equal(m.cpu.getPc(), 0x8000_0038n);
  ok(m.clock.nowNs() < 1e6, `guest time ${m.clock.nowNs()} ns`);
  // The host answers now: its input lands before any warp.
  m.sendInput(new TextEncoder().encode("x"));
  const typedAt = m.cpu.icount, typedNs = m.clock.nowNs();
  // Nothing printed since: the run warps through its whole budget.
  equal(rec.run(1000).kind, "budget");
  equal(m.cpu.icount, typedAt + 1000);
  ok(m.clock.nowNs() >= 100e9, `guest time ${m.clock.nowNs()} ns`);
  rec.endRecording();
  const input = log.find((e) =>
    e.kind === "input" && e.event === SERIAL_INPUT.name
  );
  ok(input?.kind === "input", "the typed byte is in the log");
  equal(input.icount, typedAt);
  ok(typedNs < 1e6);

  // The replay takes no host turns: one call runs the whole recording.
  let again = "";
  const rep = new Runner({
    machine: board((t) => again += t),
    replay: arraySource(log),
    warpIdle: true,
  });
  const total = m.cpu.icount;
  equal(rep.run(total).kind, "budget");
  equal(rep.machine.cpu.icount, total);
  equal(rep.machine.clock.nowNs(), m.clock.nowNs());
  equal(again, ">");
  equal(await rep.machine.stateHash(), await m.stateHash());
});

Deno.test("The board's own run (no hostTurn) keeps warping through its budget", () => {
  let text = "";
  const m = new VirtMachine(board((t) => text += t));
  equal(m.run(1000, { warpIdle: true }).kind, "budget");
  equal(m.cpu.icount, 1000);
  equal(text, ">");
  ok(m.clock.nowNs() >= 100e9);
});

Deno.test("The host's turn comes too when the output ended the previous run", () => {
  let text = "";
  const rec = new Runner({ machine: board((t) => text += t), warpIdle: true });
  const m = rec.machine;
  // Step until the prompt is out: that run ends right after the store.
  while (text === "") equal(rec.run(1).kind, "budget");
  const at = m.cpu.icount;
  // The next run has printed nothing itself, but the host has not had its
  // turn since the prompt: it returns at the wfi, before any warp.
  equal(rec.run(1_000_000).kind, "budget");
  ok(m.cpu.icount - at < 20, `ran ${m.cpu.icount - at} instructions`);
  equal(m.cpu.getPc(), 0x8000_0038n); // after the first wfi
  ok(m.clock.nowNs() < 1e6, `guest time ${m.clock.nowNs()} ns`);
  // Then no more turns: it warps through the budget.
  equal(rec.run(1000).kind, "budget");
  ok(m.clock.nowNs() >= 100e9);
});
