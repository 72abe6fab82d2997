// Internal: the vCPU worker. It owns the machine (CPU, RAM, devices) and does
// no host I/O of its own: images arrive as bytes, serial output leaves as
// messages, and serial input arrives through a SharedArrayBuffer ring that
// the main loop fills. See cli/_protocol.ts for the messages.

import { VirtMachine } from "../devices/virt.ts";
import { InputRing } from "./_input_ring.ts";
import type { ToMain, ToWorker } from "./_protocol.ts";

const self = globalThis as unknown as {
  postMessage(m: ToMain, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  close(): void;
};

function post(m: ToMain, transfer?: Transferable[]): void {
  self.postMessage(m, transfer);
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type !== "start") return;
  try {
    start(msg);
  } catch (err) {
    post({
      type: "error",
      message: err instanceof Error ? err.message : String(err),
      name: err instanceof Error ? err.name : "Error",
    });
  }
};

function start(msg: Extract<ToWorker, { type: "start" }>): void {
  const ring = new InputRing(msg.inputBuffer);
  const m = new VirtMachine({
    memoryBytes: msg.memoryBytes,
    bios: msg.bios ?? "none",
    ...(msg.kernel ? { kernel: msg.kernel } : {}),
    ...(msg.initrd ? { initrd: msg.initrd } : {}),
    ...(msg.dtb ? { dtb: msg.dtb } : {}),
    ...(msg.append !== undefined ? { append: msg.append } : {}),
    icountShift: msg.shift,
    noReboot: msg.noReboot,
    output: (bytes) => post({ type: "output", bytes }, [bytes.buffer as ArrayBuffer]),
  });
  const slice = 1 << 22;
  const nsPerInsn = m.clock.nsPerInsn;
  for (;;) {
    const input = ring.take();
    if (input.length > 0) m.sendInput(input);
    if (ring.quitRequested) {
      post({ type: "exit", reason: "quit", code: 0, icount: m.cpu.icount });
      return;
    }
    const r = m.run(slice, { warpIdle: !msg.sleep });
    if (r.kind === "exit") {
      const s = r.status;
      if (s.kind === "trap-loop") {
        post({
          type: "exit",
          reason: "trap-loop",
          code: 1,
          icount: m.cpu.icount,
          detail: `pc 0x${s.pc.toString(16)}, mcause ${s.cause}`,
        });
      } else {
        post({
          type: "exit",
          reason: s.kind,
          code: s.code,
          icount: m.cpu.icount,
        });
      }
      return;
    }
    if (r.kind === "idle") {
      // Sleep in real time until the next deadline or until input arrives,
      // then move the virtual clock by the time that passed (sleep=on).
      const now = m.clock.nowNs();
      const waitNs = r.deadlineNs === Infinity ? Infinity : r.deadlineNs - now;
      const t0 = performance.now();
      ring.wait(waitNs === Infinity ? 1000 : Math.max(0, waitNs / 1e6));
      const elapsedNs = (performance.now() - t0) * 1e6;
      const target = Math.min(now + elapsedNs, r.deadlineNs);
      // Keep the clock on instruction boundaries.
      m.clock.warpTo(Math.floor(target / nsPerInsn) * nsPerInsn);
      m.clock.runExpired();
    }
  }
}
