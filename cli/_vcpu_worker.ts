// Internal: the vCPU worker. It owns the machine (CPU, RAM, devices) and does
// no host I/O of its own: images arrive as bytes, serial output leaves as
// messages, and serial input arrives through a SharedArrayBuffer ring that
// the main loop fills. See cli/_protocol.ts for the messages.

import { VirtMachine } from "../devices/virt.ts";
import { LogRecorder, LogReplayer } from "../replay/machine_log.ts";
import { InputRing } from "./_input_ring.ts";
import type { RrStart, ToMain, ToWorker } from "./_protocol.ts";

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

/**
 * `-icount rr=record`: every event goes to the file in one write as it
 * happens, so a recorder killed at any moment leaves a log that replays up
 * to its last event. `rr=replay`: the inputs come from the log.
 */
function openRr(rr: RrStart | undefined): {
  recorder?: LogRecorder;
  replayer?: LogReplayer;
  close(): void;
} {
  if (rr === undefined) return { close() {} };
  if (rr.mode === "replay") {
    return { replayer: new LogReplayer(rr.log), close() {} };
  }
  const file = Deno.openSync(rr.path, {
    write: true,
    create: true,
    truncate: true,
  });
  const recorder = new LogRecorder(
    {
      write: (b) => {
        let off = 0;
        while (off < b.length) off += file.writeSync(b.subarray(off));
      },
      sync: () => file.syncSync(),
    },
    rr.config,
    { rrcheck: rr.rrcheck },
  );
  return { recorder, close: () => file.close() };
}

function start(msg: Extract<ToWorker, { type: "start" }>): void {
  const rr = openRr(msg.rr);
  try {
    run(msg, rr);
  } finally {
    rr.close();
  }
}

function run(
  msg: Extract<ToWorker, { type: "start" }>,
  { recorder, replayer }: ReturnType<typeof openRr>,
): void {
  const ring = new InputRing(msg.inputBuffer);
  const m = new VirtMachine({
    ...(recorder ? { record: recorder.hook } : {}),
    ...(replayer ? { replay: replayer.source } : {}),
    memoryBytes: msg.memoryBytes,
    bios: msg.bios ?? "none",
    ...(msg.kernel ? { kernel: msg.kernel } : {}),
    ...(msg.initrd ? { initrd: msg.initrd } : {}),
    ...(msg.dtb ? { dtb: msg.dtb } : {}),
    ...(msg.append !== undefined ? { append: msg.append } : {}),
    icountShift: msg.shift,
    noReboot: msg.noReboot,
    output: (bytes) =>
      post({ type: "output", bytes }, [bytes.buffer as ArrayBuffer]),
  });
  const slice = 1 << 22;
  const check = recorder ?? replayer;
  for (;;) {
    const input = ring.take();
    if (input.length > 0) m.sendInput(input);
    if (ring.quitRequested) {
      m.endRecording();
      recorder?.finish("host-signal", m.cpu.icount);
      post({ type: "exit", reason: "quit", code: 0, icount: m.cpu.icount });
      return;
    }
    const budget = check ? check.budget(m.cpu.icount, slice) : slice;
    const r = m.run(budget, { warpIdle: !msg.sleep });
    if (r.kind === "exit") {
      recorder?.finish("guest", m.cpu.icount);
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
    check?.afterRun(m);
    if (r.kind === "replay-end") {
      const cut = replayer?.truncated;
      if (cut) {
        post({
          type: "error",
          name: "ReplayLogTruncatedError",
          message:
            `The replay log ${msg.rr?.path} ends early, so the replay stopped at instruction ${m.cpu.icount}: ${cut.message}; the recording was cut short (killed?), and everything up to there replayed`,
        });
      } else {
        post({
          type: "exit",
          reason: "replay-end",
          code: 0,
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
      // Recorded as a warp with rr=record (the machine clamps it to the
      // deadline and keeps the clock on instruction boundaries).
      m.idleFor(Math.min(elapsedNs, r.deadlineNs - now));
    }
  }
}
