/**
 * The `deja` command: parse a QEMU-style command line, check permissions,
 * read the images, and run the machine in a vCPU worker while the main loop
 * does the host I/O (terminal, files).
 *
 * @module
 */

import {
  DEFAULT_BIOS_PATH,
  gdbListenAddress,
  parseCommandLine,
} from "./args.ts";
import type { MachineConfig } from "./args.ts";
import { printError } from "./error.ts";
import { ensurePermissions, requiredPermissions } from "./permissions.ts";
import type { RequiredPermission } from "./permissions.ts";
import { EscapeFilter, withRawStdin } from "./terminal.ts";
import { Monitor } from "./monitor.ts";
import type { MonitorTarget } from "./monitor.ts";
import { DebugServers } from "./debug_server.ts";
import { InputRing } from "./_input_ring.ts";
import { MainLoop } from "./_main_loop.ts";
import {
  checkLogPluginKinds,
  loadCliPlugins,
  openSerial,
  sendPlugins,
} from "./_plugins.ts";
import type { ToMain, ToWorker, WorkerVirtio } from "./_protocol.ts";
import { machineConfig, recordedVirtioLegacy } from "../replay/config.ts";
import { imageIdentity, openDrive } from "../plugins/block_backends.ts";
import { dumpLog, toQemuLog } from "../replay/dump.ts";
import { LogReplayer } from "../replay/machine_log.ts";
import { VIRT_DEVICES } from "../replay/session.ts";
import { openNetSockets } from "./_net_sockets.ts";

/** The version that `-version` prints. */
export const VERSION = "0.1.0";

/** Options for {@linkcode main}. */
export interface MainOptions {
  /**
   * Where error messages go.
   *
   * @default {(s) => console.error(s)}
   */
  writeError?: (text: string) => void;
}

/**
 * Run the `deja` command line.
 *
 * @param args the arguments after the program name
 * @param options where errors go
 * @returns the process exit status
 * @example Print the version
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["-version"]);
 * if (code !== 0) throw new Error("unreachable");
 * ```
 */
export async function main(
  args: string[],
  options: MainOptions = {},
): Promise<number> {
  try {
    const cmd = parseCommandLine(args);
    switch (cmd.kind) {
      case "help":
        console.log(cmd.text);
        return 0;
      case "version":
        console.log(`deja ${VERSION} (RISC-V virt, QEMU-compatible options)`);
        return 0;
      case "dump":
        return await dumpFile(cmd.file, cmd.qemuOut);
      case "run":
        return await runMachine(cmd.config);
    }
  } catch (err) {
    return printError(err, {
      setExitCode: false,
      ...(options.writeError ? { write: options.writeError } : {}),
    });
  }
}

async function readImage(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot read the ${what}: ${path} does not exist`, {
        cause: err,
      });
    }
    throw new Error(`Cannot read the ${what}: ${path}`, { cause: err });
  }
}

async function runMachine(config: MachineConfig): Promise<number> {
  const replaying = config.icount.rr === "replay";
  // The monitor is on stdin when it is a mon:stdio console, and in a replay,
  // where stdin is not the guest's.
  const hasMonitor = config.serial.kind === "mon:stdio" || replaying;
  const debugging = config.gdb !== undefined || config.qmp !== undefined;
  if (config.startPaused && !hasMonitor && !debugging) {
    throw new Error(
      "Cannot start stopped (-S): the machine would wait for the monitor's cont, and there is no monitor; add -nographic or -serial mon:stdio (C-a c opens the monitor), or -s for gdb",
    );
  }
  // shift=auto: 1 ns per instruction, and the clock catches up with real
  // time at checkpoints by recorded warps (see cli/_vcpu_worker.ts).
  const autoShift = config.icount.shift === "auto";
  const shift = config.icount.shift === "auto" ? 0 : config.icount.shift;
  await checkAllPermissions(config);
  // -device and -plugin modules: loaded and checked before anything starts.
  const plugins = await loadCliPlugins(config);

  const biosPath = config.bios === "default" ? DEFAULT_BIOS_PATH : config.bios;
  const ring = new InputRing();
  const loop = new MainLoop(ring, {
    rr: config.icount.rr,
    rrfile: config.icount.rrfile,
  });
  // -gdb, -qmp: the debuggers and their link to the worker.
  const { rr, rrfile, rrsnapshot } = config.icount;
  // A replay always has the debugging link (without -gdb/-qmp too): the
  // monitor's replay_seek, savevm, loadvm, delvm and info snapshots use it.
  // A replay can go live (replay_go_live): typed input then goes to the
  // guest, and the backends start.
  let live = false;
  const replayingNow = () => replaying && !live;
  let startBackends: (() => Promise<void>) | undefined;
  // A recording has it too, for savevm.
  const servers: DebugServers | undefined =
    debugging || replaying || rr === "record"
      ? new DebugServers({
        loop,
        rr: rr !== undefined && rrfile !== undefined
          ? { mode: rr, path: rrfile }
          : undefined,
        icount: () => loop.status.icount,
        monitor: (line: string): Promise<string> => commands.execute(line),
        ...(config.gdb !== undefined
          ? { gdb: gdbListenAddress(config.gdb) }
          : {}),
        ...(config.qmp ? { qmp: config.qmp } : {}),
        log: (line) => console.error(line),
        wake: () => ring.put(NO_BYTES),
        onLive: (now) => {
          live = true;
          loop.setInfo({ rr: now?.mode, rrfile: now?.path });
          void startBackends?.();
        },
      })
      : undefined;
  // What the monitor's stop/cont/quit act on: with debuggers, a pause they
  // made is resumed and ended through them.
  const monitorTarget: MonitorTarget = servers
    ? {
      get stopped() {
        return loop.stopped || servers.link.paused;
      },
      stop: () => loop.stop(),
      cont: () => servers.cont(),
      quit: () => servers.quit("host-qmp-quit"),
      infoReplay: () => loop.infoReplay(servers.link.paused),
    }
    : loop;
  const extra = servers
    ? (line: string) => servers.monitorCommand(line)
    : undefined;
  // The monitor that gdb's `monitor` and QMP's human-monitor-command use.
  const commands = new Monitor(monitorTarget, {
    write: () => {},
    ...(extra ? { extra } : {}),
  });
  const start: ToWorker = {
    type: "start",
    inputBuffer: ring.buffer,
    mutexBuffer: loop.mutex.buffer,
    statusBuffer: loop.status.buffer,
    memoryBytes: config.memoryBytes,
    shift,
    ...(autoShift ? { autoShift } : {}),
    sleep: config.icount.sleep,
    noReboot: config.noReboot,
    ...(servers ? { debugBuffer: servers.link.buffer } : {}),
    ...(servers && !debugging ? { lazyTimeTravel: true } : {}),
  };
  if (biosPath === "none") start.bios = "none";
  else start.bios = await readImage(biosPath, "firmware (-bios)");
  if (config.kernel) {
    start.kernel = await readImage(config.kernel, "kernel (-kernel)");
  }
  if (config.initrd) {
    start.initrd = await readImage(config.initrd, "initrd (-initrd)");
  }
  if (config.dtb) start.dtb = await readImage(config.dtb, "device tree (-dtb)");
  if (config.append !== undefined) start.append = config.append;
  // virtio devices: under record and replay each image's identity goes
  // into the log's configuration (a replay with another image is refused).
  const virtio: WorkerVirtio[] = [];
  for (const v of config.virtio) {
    if (v.kind === "rng") {
      virtio.push({ kind: "rng" });
      continue;
    }
    if (v.kind === "net") {
      virtio.push({
        kind: "net",
        ...(v.mac ? { mac: v.mac } : {}),
        ...(v.netdev.tftp !== undefined ? { tftp: v.netdev.tftp } : {}),
        ...(v.netdev.socket ? { socket: true as const } : {}),
        ...(v.netdev.hostfwd ? { hostfwd: true as const } : {}),
      });
      continue;
    }
    const d = v.drive;
    // Refuse a missing, truncated or unsupported image before the run.
    openDrive(d, true).close();
    virtio.push({
      kind: "blk",
      file: d.file,
      format: d.format,
      readonly: d.readonly,
      snapshot: d.snapshot,
      ...(rr !== undefined ? { identity: await imageIdentity(d.file) } : {}),
    });
  }
  if (virtio.length > 0) start.virtio = virtio;
  let replayLog: Uint8Array | undefined;
  if (rr === "replay" && rrfile !== undefined) {
    replayLog = await readImage(rrfile, "replay log (-icount rrfile=)");
    // Logs from before virtio devices had version-2 slots (config.ts). A
    // log that cannot be read is reported by the checks below.
    try {
      start.virtioLegacy = recordedVirtioLegacy(
        new LogReplayer(replayLog).config,
      );
    } catch {
      start.virtioLegacy = true;
    }
  }
  if (rr !== undefined && rrfile !== undefined) {
    const given = await machineConfig({
      virtioLegacy: start.virtioLegacy ?? true,
      virtio: virtio.map((v) =>
        v.kind === "blk" && v.identity
          ? { kind: v.kind, image: v.identity }
          : { kind: v.kind }
      ),
      memoryBytes: config.memoryBytes,
      bios: start.bios,
      kernel: start.kernel,
      initrd: start.initrd,
      dtb: start.dtb,
      append: start.append,
      icountShift: shift,
      sleep: config.icount.sleep,
      noReboot: config.noReboot,
      devices: [...VIRT_DEVICES],
      plugins: plugins.refs,
      rrcheck: config.icount.rrcheck ?? 0,
    });
    if (rr === "record") {
      start.rr = {
        mode: "record",
        path: rrfile,
        config: given,
        rrcheck: config.icount.rrcheck ?? 0,
        ...(rrsnapshot !== undefined ? { rrsnapshot } : {}),
      };
    } else {
      const log = replayLog!;
      // Check the header and the machine here, before the worker starts.
      checkLogPluginKinds(log, plugins.devices);
      new LogReplayer(log).checkConfig(given);
      start.rr = {
        mode: "replay",
        path: rrfile,
        log,
        ...(rrsnapshot !== undefined ? { rrsnapshot } : {}),
      };
    }
  }

  // The serial console's backend plugin (plugins/char_backends.ts): stdio,
  // null, file:PATH or tcp:... Its input reaches the guest at the next
  // checkpoint, as typed input does; the terminal's input is read by the
  // main loop's pump below (with the monitor), so stdio only writes.
  const serial = config.serial;
  const backend = await openSerial(
    serial,
    (bytes) => loop.input(bytes),
    () => void loop.quit(),
    replayingNow,
    true,
  );
  // Whether the guest's output stopped in the middle of a line, so that an
  // error deja prints then starts on a line of its own.
  let midLine = false;
  const write = (b: Uint8Array) => {
    if (b.length > 0) midLine = b[b.length - 1] !== 0x0a;
    backend.write?.(b);
  };
  const interactive = serial.kind === "stdio" || serial.kind === "mon:stdio";
  const enc = new TextEncoder();

  // -netdev socket/stream: listen or connect now (a refused connection
  // fails here, before anything is recorded); none in a replay.
  const sockets = await openNetSockets(
    config,
    () => ring.put(NO_BYTES),
    (line) => console.error(`deja: ${line}`),
  );
  if (sockets) start.netBuffer = sockets.buffer;
  const worker = new Worker(new URL("./_vcpu_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    return await withRawStdin(async () => {
      const done = new Promise<number>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<ToMain>) => {
          const m = e.data;
          if (m.type === "net-tx") return sockets?.send(m.index, m.frame);
          if (m.type === "net-host") return sockets?.forwarded(m);
          if (servers?.message(m)) return;
          if (m.type === "output") write(m.bytes);
          else if (m.type === "error") {
            const err = new Error(m.message);
            err.name = m.name;
            if (servers) {
              servers.exited({ reason: "error", code: 1 }).finally(() =>
                reject(err)
              );
            } else reject(err);
          } else if (m.type === "exit") {
            const exit = m;
            const end = () => {
              if (exit.reason === "trap-loop") {
                reject(
                  new Error(
                    `Guest stopped making progress: 100000 traps in a row without retiring an instruction (${exit.detail}); check the trap vector the guest set up`,
                  ),
                );
              } else resolve(exit.reason === "reset" ? 0 : exit.code);
              if (exit.reason === "replay-end" && interactive) {
                write(enc.encode(
                  `\r\ndeja: replay reached the end of ${rrfile} at instruction ${exit.icount}\r\n`,
                ));
              }
            };
            // Tell gdb (W) and QMP (SHUTDOWN) first, then end.
            if (servers) {
              servers.exited({ reason: exit.reason, code: exit.code })
                .finally(end);
            } else end();
          }
        };
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`The vCPU worker failed: ${e.message}`));
        };
      });
      // In a replay, input comes only from the log: the pump only serves
      // the monitor and the quit keys.
      const pump = interactive || replaying
        ? pumpStdin(loop, {
          escapes: hasMonitor,
          replay: replayingNow,
          stdout: (b) => writeAll(Deno.stdout, b),
          target: monitorTarget,
          ...(extra ? { extra } : {}),
        })
        : undefined;
      servers?.start();
      if (config.startPaused) {
        await loop.stop();
        if (Deno.stdin.isTerminal()) {
          console.error(
            servers?.gdbPort
              ? `deja: stopped (-S); waiting for gdb on port ${servers.gdbPort} (or the monitor's cont: C-a c)`
              : "deja: stopped (-S); C-a c opens the monitor, where cont starts the machine",
          );
        }
      }
      // A backend that fails while running (an undeclared emit, a codec
      // that throws) ends the run as a quit does, so that the recording
      // ends cleanly there; its error is what deja then reports.
      let backendError: Error | undefined;
      startBackends = () =>
        plugins.startBackends(() => ring.put(NO_BYTES), (e) => {
          backendError ??= e;
          void loop.quit();
        });
      if (!replaying) await startBackends();
      // The worker imports the plugin modules before it starts; on a
      // failure it reports an error, which ends `done`.
      if (await sendPlugins(worker, plugins.start)) worker.postMessage(start);
      try {
        const code = await done;
        if (backendError) throw backendError;
        return code;
      } catch (e) {
        if (midLine) write(enc.encode("\r\n"));
        throw e;
      } finally {
        loop.close();
        pump?.stop();
        await servers?.close();
      }
    });
  } finally {
    worker.terminate();
    await sockets?.close();
    await backend?.close?.();
    await plugins.close();
  }
}

/**
 * The vCPU worker loads deja's own modules, which Deno checks against the
 * read (or import) permission even though the main module needed none.
 */
function workerPermission(): RequiredPermission {
  const root = new URL("../", import.meta.url);
  const reason = "the vCPU worker loads deja's own modules";
  if (root.protocol === "file:") {
    let path = decodeURIComponent(root.pathname);
    if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
    return { name: "read", path, reason };
  }
  return { name: "import", host: root.host, reason };
}

async function checkAllPermissions(config: MachineConfig): Promise<void> {
  const q = config.qmp;
  const qmp: RequiredPermission[] = q === undefined
    ? []
    : q.transport === "tcp"
    ? [{ name: "net", host: `${q.hostname}:${q.port}`, reason: "-qmp" }]
    : [{ name: "net", host: `unix:${q.path}`, reason: "-qmp unix:" }];
  await ensurePermissions([
    ...requiredPermissions(config),
    ...qmp,
    workerPermission(),
  ]);
}

const NO_BYTES = new Uint8Array(0); // put into the input ring: a wake-up

function writeAll(w: { writeSync(p: Uint8Array): number }, b: Uint8Array) {
  let off = 0;
  while (off < b.length) off += w.writeSync(b.subarray(off));
}

/**
 * Read stdin on the main loop. Bytes for the guest are queued and delivered
 * at the next checkpoint; C-a escapes (with `escapes`) switch to the monitor
 * or quit. In a replay, stdin is not the guest's: what is typed outside the
 * monitor is dropped, and Ctrl-C stops the machine and opens the monitor.
 */
function pumpStdin(
  loop: MainLoop,
  options: {
    escapes: boolean;
    /** Whether stdin is not the guest's (a replay, until it goes live). */
    replay: () => boolean;
    stdout: (b: Uint8Array) => void;
    /** What the monitor acts on (the main loop, or the debuggers'). */
    target: MonitorTarget;
    /** The debuggers' monitor commands. */
    extra?: (line: string) => Promise<string | undefined>;
  },
): { stop(): void } {
  const filter = new EscapeFilter();
  const tty = Deno.stdin.isTerminal();
  const reader = Deno.stdin.readable.getReader();
  let stopped = false;
  const enc = new TextEncoder();
  const say = (text: string) => options.stdout(enc.encode(text));
  const monitor = new Monitor(options.target, {
    write: say,
    echo: tty,
    ...(options.extra ? { extra: options.extra } : {}),
  });
  // Bytes outside the escapes: to the monitor, the guest, or nowhere.
  const route = async (data: Uint8Array): Promise<boolean> => {
    if (data.length === 0) return true;
    if (monitor.active) {
      await monitor.push(data);
      return true;
    }
    const ctrlC = data.indexOf(3);
    if (options.replay()) {
      if (ctrlC < 0) return true;
      await loop.stop();
      monitor.enter();
      await monitor.push(data.subarray(ctrlC + 1));
      return true;
    }
    if (!options.escapes && tty && ctrlC >= 0) { // Ctrl-C in raw mode quits
      await loop.quit();
      return false;
    }
    loop.input(data);
    return true;
  };
  (async () => {
    try {
      while (!stopped) {
        const { value, done } = await reader.read();
        if (done || !value) return;
        if (!options.escapes) {
          if (!await route(value)) return;
          continue;
        }
        // Keep the order of bytes and escapes: feed the filter up to and
        // including each escape key.
        let rest: Uint8Array = value;
        while (rest.length > 0) {
          const at = rest.indexOf(1);
          const cut = at < 0 ? rest.length : Math.min(rest.length, at + 2);
          const r = filter.push(rest.subarray(0, cut));
          rest = rest.subarray(cut);
          if (!await route(r.data)) return;
          for (const n of r.notes) say(n);
          for (const a of r.actions) {
            if (a === "quit") {
              say("\r\ndeja: terminating on C-a x\r\n");
              await options.target.quit();
              return;
            }
            if (a === "help") say(EscapeFilter.helpText);
            if (a === "monitor") {
              if (monitor.active) monitor.leave();
              else monitor.enter();
            }
          }
        }
      }
    } catch {
      // stdin closed under us: nothing more to read
    }
  })();
  return {
    stop() {
      stopped = true;
      reader.cancel().catch(() => {});
    },
  };
}

async function dumpFile(path: string, qemuOut?: string): Promise<number> {
  await ensurePermissions([
    { name: "read", path, reason: "dump reads the log" },
    ...(qemuOut === undefined ? [] : [{
      name: "write" as const,
      path: qemuOut,
      reason: "dump --qemu writes the copy",
    }]),
  ]);
  const bytes = await readImage(path, "replay log");
  if (qemuOut !== undefined) {
    const out = toQemuLog(bytes);
    await Deno.writeFile(qemuOut, out.log);
    const dropped = Object.entries(out.dropped).map(([k, n]) => `${n} ${k}`);
    console.error(
      `wrote ${qemuOut}: ${out.log.length} bytes; ${out.converted} serial input events as EVENT_ASYNC_CHAR_READ${
        dropped.length > 0 ? `; left out ${dropped.join(", ")}` : ""
      }`,
    );
  }
  const enc = new TextEncoder();
  let pending: string[] = [];
  const flush = () => {
    writeAll(Deno.stdout, enc.encode(pending.join("")));
    pending = [];
  };
  try {
    dumpLog(bytes, (line) => {
      pending.push(line, "\n");
      if (pending.length > 4096) flush();
    });
  } finally {
    flush();
  }
  return 0;
}
