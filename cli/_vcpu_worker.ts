// Internal: the vCPU worker. It owns the machine (CPU, RAM, devices) and does
// no host I/O of its own: images arrive as bytes, serial output leaves as
// messages, and serial input arrives through a SharedArrayBuffer ring that
// the main loop fills. See cli/_protocol.ts for the messages.

import type { VirtMachine } from "../devices/virt.ts";
import type { LogRecorder } from "../replay/machine_log.ts";
import { LogReplayer } from "../replay/machine_log.ts";
import type { NondetEvent, NondetSource } from "../replay/nondet.ts";
import { Runner } from "../replay/runner.ts";
import { ReplayMutex } from "../replay/mutex.ts";
import { InputRing } from "./_input_ring.ts";
import { NO_PLUGINS, workerPlugins } from "./_plugins.ts";
import type { PluginStart, WorkerPlugins } from "./_plugins.ts";
import { VCPU_OWNER, VcpuStatus } from "./_protocol.ts";
import { DebugAgent } from "./debug_link.ts";
import { TimeTravel } from "../replay/time_travel.ts";
import { Reverser } from "./reverse.ts";
import { terminalProgress } from "./progress.ts";
import {
  loadStartSnapshot,
  NamedSnapshots,
  saveStartSnapshot,
} from "./snapshots.ts";
import { loadBranchStart, openRecording, startBranch } from "./go_live.ts";
import { logIdentity } from "../replay/snapshot_file.ts";
import type { RrStart, ToMain, ToWorker, WorkerVirtio } from "./_protocol.ts";
import { openDrive, type OpenedDrive } from "../plugins/block_backends.ts";
import { tftpDirectory, UserNetwork } from "../plugins/net_user.ts";
import type { VirtioDeviceConfig } from "../devices/virt.ts";

const self = globalThis as unknown as {
  postMessage(m: ToMain, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  close(): void;
};

// -device and -plugin: the main loop sends the plugins before the start
// message, and waits until they are imported (see cli/_plugins.ts).
let plugins: WorkerPlugins = NO_PLUGINS;
let machine: VirtMachine | undefined;
globalThis.addEventListener("message", (e: Event) => {
  const data = (e as MessageEvent).data as { type: string; start: PluginStart };
  if (data?.type !== "plugins") return;
  workerPlugins(data.start, (lines) => post({ type: "plugin-output", lines }))
    .then((loaded) => {
      plugins = loaded;
      post({ type: "plugins-ready" });
    }, (err) => {
      post({
        type: "error",
        message: err instanceof Error ? err.message : String(err),
        name: err instanceof Error ? err.name : "Error",
      });
    });
});

function post(m: ToMain, transfer?: Transferable[]): void {
  if (m.type === "exit" || m.type === "error") {
    machine?.finishInstrumentation(m.type === "exit" ? m.reason : "error");
    plugins.flush();
  }
  self.postMessage(m, transfer);
}

let mutex: ReplayMutex | undefined;

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type !== "start") return;
  try {
    mutex = new ReplayMutex(msg.mutexBuffer, { owner: VCPU_OWNER });
    start(msg, mutex);
  } catch (err) {
    if (mutex?.isHeldByMe()) mutex.unlock();
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
function openRr(rr: RrStart | undefined, mutex: ReplayMutex): {
  recorder?: LogRecorder;
  replayer?: LogReplayer;
  /** A recording's first bytes: its header and configuration event. */
  head?: Uint8Array;
  close(): void;
} {
  if (rr === undefined) return { close() {} };
  // Every access to the log happens with the replay mutex held.
  const held = () => mutex.assertHeld("access the replay log");
  if (rr.mode === "replay") {
    return {
      replayer: new LogReplayer(rr.log, { assertHeld: held }),
      close() {},
    };
  }
  return openRecording(rr.path, rr.config, {
    rrcheck: rr.rrcheck,
    assertHeld: held,
  });
}

function start(
  msg: Extract<ToWorker, { type: "start" }>,
  mutex: ReplayMutex,
): void {
  // The vCPU holds the mutex for a whole execution period. The first
  // period begins once the main loop lets go (it holds on with -S).
  mutex.lock();
  const rr = openRr(msg.rr, mutex);
  const closers = [() => rr.close()];
  try {
    run(msg, rr, mutex, closers);
  } finally {
    for (const c of closers) c();
    if (mutex.isHeldByMe()) mutex.unlock();
  }
}

function run(
  msg: Extract<ToWorker, { type: "start" }>,
  opened: ReturnType<typeof openRr>,
  mutex: ReplayMutex,
  closers: (() => void)[],
): void {
  // replay_go_live: a replay leaves its log (and may record a new one).
  let { recorder, replayer } = opened;
  const { head } = opened;
  const ring = new InputRing(msg.inputBuffer);
  const status = new VcpuStatus(msg.statusBuffer);
  const logOffset = () => recorder?.writer.offset ?? replayer?.offset ?? 0;
  // A checkpoint: publish the status, and give the main loop its turn if it
  // asked for one (the ticket lock serves it before this thread's next
  // period); it delivers queued input, or keeps the mutex to stop the
  // machine.
  const checkpoint = () => {
    status.icount = m.cpu.icount;
    status.logOffset = logOffset();
    status.checkpoints++;
    mutex.unlock();
    mutex.lock();
    status.state = 0;
  };
  const finished = () => {
    status.icount = m.cpu.icount;
    status.logOffset = logOffset();
    status.state = 2;
  };
  const check = recorder ?? replayer;
  // The drives: under record and replay the image file stays unchanged.
  const drives = openVirtio(msg.virtio ?? [], msg.rr !== undefined);
  // Socket netdevs: frames from their peers (cli/main.ts reads the sockets).
  const netRing = msg.netBuffer ? new InputRing(msg.netBuffer) : undefined;
  const peerFrames = new FrameReader(msg.virtio ?? []);
  // The inputs the board reads as it is built (host clock, entropy): a
  // branched timeline's log starts with them (cli/go_live.ts).
  const creation: NondetEvent[] = [];
  let building = true;
  const source: NondetSource | undefined = replayer
    ? {
      ...replayer.source,
      take: () => {
        const e = replayer!.source.take();
        if (building && e) creation.push(e);
        return e;
      },
    }
    : undefined;
  const runner = new Runner({
    ...(recorder ? { record: recorder.hook } : {}),
    ...(source ? { replay: source } : {}),
    ...(check ? { checks: check } : {}),
    warpIdle: !msg.sleep,
    machine: {
      memoryBytes: msg.memoryBytes,
      bios: msg.bios ?? "none",
      ...(msg.kernel ? { kernel: msg.kernel } : {}),
      ...(msg.initrd ? { initrd: msg.initrd } : {}),
      ...(msg.dtb ? { dtb: msg.dtb } : {}),
      ...(msg.append !== undefined ? { append: msg.append } : {}),
      icountShift: msg.shift,
      noReboot: msg.noReboot,
      rngSeed: "host", // as QEMU: 32 bytes of host entropy in /chosen
      devices: plugins.devices,
      instrumentation: plugins.hooks,
      virtio: drives.devices,
      virtioLegacy: msg.virtioLegacy ?? true,
      output: (bytes) =>
        post({ type: "output", bytes }, [bytes.buffer as ArrayBuffer]),
    },
  });
  building = false;
  const m = runner.machine;
  machine = m;
  // A branched timeline's log starts from a snapshot (cli/go_live.ts).
  if (msg.rr?.mode === "replay") {
    loadBranchStart(m, msg.rr.path, replayer!.config, msg.rr.log);
  }
  // -icount rrsnapshot=NAME: a snapshot as the recording starts; a replay
  // starts from it.
  if (msg.rr?.rrsnapshot !== undefined) {
    if (msg.rr.mode === "record") {
      saveStartSnapshot(
        m,
        msg.rr.path,
        msg.rr.rrsnapshot,
        msg.rr.config,
        head!,
      );
    } else {
      loadStartSnapshot(
        runner,
        msg.rr.path,
        msg.rr.rrsnapshot,
        replayer!.config,
        msg.rr.log,
      );
    }
  }
  // -gdb, -qmp: the debuggers pause the machine at checkpoints, set
  // breakpoints and step it (cli/debug_link.ts).
  // In a replay under a debugger: snapshots on the way, for reverse
  // execution (replay/time_travel.ts, cli/reverse.ts).
  let lazy = msg.lazyTimeTravel === true;
  const progress = terminalProgress();
  let travel = msg.debugBuffer && replayer
    ? new TimeTravel(runner, {
      ...(lazy ? { interval: Number.MAX_SAFE_INTEGER } : {}),
      // A seek that takes more than a second: its progress on a terminal.
      ...(progress ? { onProgress: progress } : {}),
    })
    : undefined;
  // The log's identity (a hash) only when a snapshot is first saved or
  // loaded: most runs take none.
  const log = msg.rr?.mode === "replay" ? msg.rr.log : undefined;
  const agent = msg.debugBuffer
    ? new DebugAgent(
      {
        cpu: m.cpu,
        bus: m.bus,
        run: (n) => travel ? travel.run(n) : runner.run(n),
      },
      msg.debugBuffer,
      (stop) => post(stop),
      recorder || replayer ? undefined : () => m.reset(),
      travel ? new Reverser(travel) : undefined,
      // savevm: in a replay (loadvm too), and while recording.
      msg.rr?.mode === "replay"
        ? new NamedSnapshots(m, msg.rr.path, {
          identity: () => logIdentity(log!),
          config: replayer!.config,
          ...(travel ? { travel } : {}),
        })
        : msg.rr?.mode === "record"
        ? new NamedSnapshots(m, msg.rr.path, {
          identity: () => logIdentity(head!),
          config: msg.rr.config,
        })
        : undefined,
    )
    : undefined;
  // replay_go_live [rrfile=NEW]: leave the replay here and go on live;
  // with rrfile, record the new timeline to NEW from a snapshot of this
  // point (cli/go_live.ts). The machine stays paused.
  if (agent && msg.rr?.mode === "replay") {
    const rrStart = msg.rr;
    agent.goLive = (rrfile) => {
      if (!replayer) {
        throw new Error("Cannot go live: the run is live already");
      }
      // Devices that pull: their backends answer from here on.
      plugins.goLive();
      const icount = m.cpu.icount;
      let snapshot: string | undefined;
      if (rrfile !== undefined) {
        const branch = startBranch(m, rrfile, {
          config: replayer.config,
          log: rrStart.log,
          creation,
        }, { assertHeld: () => mutex.assertHeld("access the replay log") });
        closers.push(branch.close);
        recorder = branch.recorder;
        snapshot = branch.snapshotPath;
        agent.setTimeTravel(
          undefined,
          new NamedSnapshots(m, rrfile, {
            identity: () => logIdentity(branch.head),
            config: branch.config,
          }),
        );
      } else agent.setTimeTravel(undefined, undefined);
      runner.goLive(
        recorder ? { record: recorder.hook, checks: recorder } : {},
      );
      replayer = undefined;
      travel = undefined;
      // shift=auto catches up with real time from here.
      realNs = m.clock.nowNs();
      return { icount, ...(snapshot ? { snapshot } : {}) };
    };
  }
  const slice = 1 << 22;
  // While frames flow on a socket netdev, short slices: a peer's answer
  // reaches the guest at the next checkpoint, not 4M instructions later.
  const span = () => performance.now() < netBusyUntil ? 1 << 16 : slice;
  // Real time the machine has run (stopped time excluded), for shift=auto.
  let realNs = 0;
  let periodStart = performance.now();
  try {
    for (;;) {
      const input = ring.take();
      if (input.length > 0) m.sendInput(input);
      if (netRing) peerFrames.deliver(netRing.take(), m);
      plugins.drain(m); // backend events: at this instruction
      let quit = ring.quitRequested;
      if (!quit && agent?.wantsPause(m.cpu.icount)) {
        // A debugger's pause: at this checkpoint, without the mutex.
        if (lazy) {
          // Time travel is wanted from here on: snapshots on the way.
          lazy = false;
          travel?.setInterval();
        }
        status.icount = m.cpu.icount;
        status.logOffset = logOffset();
        quit = agent.checkpoint(
          m.cpu.icount,
          () => {
            // After a seek while paused too: info replay says where it is.
            status.icount = m.cpu.icount;
            status.logOffset = logOffset();
            mutex.unlock();
          },
          () => mutex.lock(),
          () => ring.quitRequested,
        ) === "quit";
        periodStart = performance.now(); // time paused is not run time
        if (!quit) continue; // take what arrived meanwhile first
      }
      if (quit) {
        runner.endRecording();
        recorder?.finish("host-signal", m.cpu.icount);
        finished();
        post({ type: "exit", reason: "quit", code: 0, icount: m.cpu.icount });
        return;
      }
      let r;
      const before = m.cpu.icount;
      let asked = span();
      if (agent) {
        asked = agent.budget(m.cpu.icount, asked);
        if (asked === 0) continue; // at the replay breakpoint: pause first
        r = agent.run(asked);
      } else r = runner.run(asked);
      if (r.kind === "exit") {
        recorder?.finish("guest", m.cpu.icount);
        finished();
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
      const t = performance.now();
      realNs += (t - periodStart) * 1e6;
      periodStart = t;
      if (msg.autoShift && r.kind !== "idle") {
        // shift=auto: the clock runs at 1 ns per instruction (shift 0) and
        // catches up with real time here, by warps that are recorded like
        // sleep=on's (a replay takes them from the log), so virtual time
        // keeps within a slice of real time and the run stays deterministic.
        runner.catchUp(realNs);
      }
      if (r.kind === "replay-end") {
        finished();
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
        const waitNs = r.deadlineNs === Infinity
          ? Infinity
          : r.deadlineNs - now;
        // The main loop may deliver input meanwhile: let go of the mutex.
        status.state = 1;
        status.icount = m.cpu.icount;
        status.logOffset = logOffset();
        mutex.unlock();
        const t0 = performance.now();
        // Frames from a socket netdev's peer wake it too.
        ring.wait(
          waitNs === Infinity ? 1000 : Math.max(0, waitNs / 1e6),
          netRing ? () => netRing.ready : undefined,
        );
        // Real time spent stopped (the main loop holding the mutex) is not
        // idle time: measure before taking the mutex back.
        const elapsedNs = (performance.now() - t0) * 1e6;
        mutex.lock();
        periodStart = performance.now();
        realNs += elapsedNs;
        status.state = 0;
        // sleep=on: recorded as a warp with rr=record (the machine clamps it
        // to the deadline and keeps the clock on instruction boundaries).
        // sleep=off only gets here with no deadline at all: time stands still
        // until input arrives.
        if (msg.sleep) runner.idleFor(Math.min(elapsedNs, r.deadlineNs - now));
      } else if (
        !msg.sleep && !replayer && r.kind === "budget" &&
        m.cpu.icount - before < asked
      ) {
        // sleep=off, live: the guest sent output and idles, and the run
        // returned before jumping the clock (the host's turn, Runner). Give
        // the host a moment to answer at this guest time, as QEMU's main
        // loop does, instead of warping on while the answer is on its way.
        status.state = 1;
        status.icount = m.cpu.icount;
        status.logOffset = logOffset();
        mutex.unlock();
        ring.wait(HOST_TURN_MS, netRing ? () => netRing.ready : undefined);
        mutex.lock();
        status.state = 0;
        periodStart = performance.now();
      } else {
        checkpoint();
        periodStart = performance.now(); // time stopped is not run time
      }
    }
  } catch (err) {
    // A failure inside the run (a plugin callback that threw): end the
    // recording here, as a quit does, so that the log replays up to this
    // instruction, then report the error.
    if (recorder && mutex.isHeldByMe()) {
      runner.endRecording();
      recorder.finish("host-error", m.cpu.icount);
    }
    finished();
    throw err;
  }
}

/** Open the drives of the virtio devices (plugins/block_backends.ts). */
function openVirtio(
  list: readonly WorkerVirtio[],
  keepUnchanged: boolean,
): { devices: VirtioDeviceConfig[]; close(): void } {
  const opened: OpenedDrive[] = [];
  const devices: VirtioDeviceConfig[] = [];
  try {
    for (const v of list) {
      if (v.kind === "rng") {
        devices.push({ kind: "rng" });
        continue;
      }
      if (v.kind === "net") {
        // In a replay the machine leaves the backend alone (frames come
        // from the log) until the replay goes live (replay_go_live).
        const index = devices.length;
        const backend = v.socket
          ? {
            transmit(frame: Uint8Array) {
              netBusyUntil = performance.now() + NET_BUSY_MS;
              post({ type: "net-tx", index, frame }, [
                frame.buffer as ArrayBuffer,
              ]);
            },
          }
          : new UserNetwork({
            ...(v.tftp !== undefined
              ? { readFile: tftpDirectory(v.tftp) }
              : {}),
            // hostfwd=: what the guest sends on a forwarded connection.
            ...(v.hostfwd
              ? {
                host: {
                  data(conn: number, data: Uint8Array) {
                    netBusyUntil = performance.now() + NET_BUSY_MS;
                    post({ type: "net-host", index, conn, data });
                  },
                  close(conn: number, reset: boolean) {
                    post({
                      type: "net-host",
                      index,
                      conn,
                      close: reset ? "reset" : "fin",
                    });
                  },
                },
              }
              : {}),
          });
        if (backend instanceof UserNetwork) userNetworks.set(index, backend);
        devices.push({
          kind: "net",
          ...(v.mac ? { mac: Uint8Array.from(v.mac) } : {}),
          backend,
        });
        continue;
      }
      const d = openDrive(v, keepUnchanged);
      opened.push(d);
      devices.push({
        kind: "blk",
        image: d.image,
        readonly: v.readonly,
        ...(v.identity ? { identity: v.identity } : {}),
      });
    }
  } catch (e) {
    for (const d of opened) d.close();
    throw e;
  }
  return { devices, close: () => opened.forEach((d) => d.close()) };
}

/** The user networks by virtio index, for hostfwd= connections. */
const userNetworks = new Map<number, UserNetwork>();

/** Until when (performance.now()) frames flow on a socket netdev. */
let netBusyUntil = 0;
/** How long short slices last after a frame went out or came in. */
const NET_BUSY_MS = 250;
/**
 * The host's turn under sleep=off: how long the vCPU waits for input or a
 * frame when the guest printed and idles, before its clock jumps on.
 */
const HOST_TURN_MS = 20;

/**
 * Frames from socket netdevs' peers, as cli/main.ts puts them in the net
 * ring: [u8 virtio index][u32 LE length][frame]. Each goes to its card at
 * this instruction (a `NET_RX` input, recorded).
 */
class FrameReader {
  #pending = new Uint8Array(0);
  #nic: number[] = [];

  constructor(list: readonly WorkerVirtio[]) {
    // The board gives the first -device the last slot (devices/virt.ts), and
    // numbers its network cards in slot order: the last net device in
    // command-line order (among the first 8) is card 0.
    let nic = 0;
    for (let i = Math.min(list.length, 8) - 1; i >= 0; i--) {
      if (list[i]!.kind === "net") this.#nic[i] = nic++;
    }
  }

  deliver(got: Uint8Array, m: VirtMachine): void {
    if (got.length === 0) return;
    netBusyUntil = performance.now() + NET_BUSY_MS;
    let all = got;
    if (this.#pending.length > 0) {
      all = new Uint8Array(this.#pending.length + got.length);
      all.set(this.#pending);
      all.set(got, this.#pending.length);
    }
    const v = new DataView(all.buffer, all.byteOffset, all.length);
    let at = 0;
    while (all.length - at >= 5) {
      const n = v.getUint32(at + 1, true);
      if (all.length - at - 5 < n) break;
      const index = all[at]!;
      const body = all.subarray(at + 5, at + 5 + n);
      if (index & 0x80) {
        // A forwarded connection's event, for the user network to answer.
        const frames = this.#forward(index & 0x7f, body);
        const nic = this.#nic[index & 0x7f];
        if (nic !== undefined) {
          for (const f of frames) m.receiveFrame(nic, f);
        }
      } else {
        const nic = this.#nic[index];
        if (nic !== undefined) m.receiveFrame(nic, body.slice());
      }
      at += 5 + n;
    }
    this.#pending = all.slice(at);
  }

  /** [u8 op][u32 LE conn][u16 LE guest port | data] (cli/_net_sockets.ts). */
  #forward(index: number, b: Uint8Array): Uint8Array[] {
    const net = userNetworks.get(index);
    if (!net || b.length < 5) return [];
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    const conn = v.getUint32(1, true);
    if (b[0] === 0 && b.length >= 7) {
      return net.hostConnect(conn, v.getUint16(5, true));
    }
    if (b[0] === 1) return net.hostData(conn, b.slice(5));
    if (b[0] === 2) return net.hostClose(conn);
    return [];
  }
}
