/**
 * The `deja` command: parse a QEMU-style command line, check permissions,
 * read the images, and run the machine in a vCPU worker while the main loop
 * does the host I/O (terminal, files).
 *
 * @module
 */

import { DEFAULT_BIOS_PATH, parseCommandLine } from "./args.ts";
import type { MachineConfig } from "./args.ts";
import { printError } from "./error.ts";
import { checkPermissions, PermissionError } from "./permissions.ts";
import type { RequiredPermission } from "./permissions.ts";
import { EscapeFilter, withRawStdin } from "./terminal.ts";
import { InputRing } from "./_input_ring.ts";
import type { ToMain, ToWorker } from "./_protocol.ts";
import { machineConfig } from "../replay/config.ts";
import { dumpLog } from "../replay/dump.ts";
import { LogReplayer } from "../replay/machine_log.ts";
import { VIRT_DEVICES } from "../replay/session.ts";

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
        return await dumpFile(cmd.file);
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

function unsupported(what: string): never {
  throw new Error(`Not supported yet: ${what}`);
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
  if (config.gdb) {
    unsupported("-gdb (the GDB stub comes with reverse debugging)");
  }
  if (config.icount.rrsnapshot !== undefined) {
    unsupported("-icount rrsnapshot=NAME (snapshots)");
  }
  if (config.devices.length) unsupported("-device (plugin devices)");
  if (config.plugins.length) unsupported("-plugin (instrumentation plugins)");
  if (config.startPaused) unsupported("-S without -gdb");
  if (config.icount.shift === "auto") unsupported("-icount shift=auto");
  await checkAllPermissions(config);

  const biosPath = config.bios === "default" ? DEFAULT_BIOS_PATH : config.bios;
  const start: ToWorker = {
    type: "start",
    inputBuffer: new InputRing().buffer,
    memoryBytes: config.memoryBytes,
    shift: config.icount.shift,
    sleep: config.icount.sleep,
    noReboot: config.noReboot,
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
  const { rr, rrfile } = config.icount;
  if (rr !== undefined && rrfile !== undefined) {
    const given = await machineConfig({
      memoryBytes: config.memoryBytes,
      bios: start.bios,
      kernel: start.kernel,
      initrd: start.initrd,
      dtb: start.dtb,
      append: start.append,
      icountShift: config.icount.shift,
      sleep: config.icount.sleep,
      noReboot: config.noReboot,
      devices: [...VIRT_DEVICES],
      plugins: [],
      rrcheck: config.icount.rrcheck ?? 0,
    });
    if (rr === "record") {
      start.rr = {
        mode: "record",
        path: rrfile,
        config: given,
        rrcheck: config.icount.rrcheck ?? 0,
      };
    } else {
      const log = await readImage(rrfile, "replay log (-icount rrfile=)");
      // Check the header and the machine here, before the worker starts.
      new LogReplayer(log).checkConfig(given);
      start.rr = { mode: "replay", path: rrfile, log };
    }
  }

  // Serial output sink.
  let write: (b: Uint8Array) => void = () => {};
  let file: Deno.FsFile | undefined;
  const serial = config.serial;
  if (serial.kind === "stdio" || serial.kind === "mon:stdio") {
    write = (b) => writeAll(Deno.stdout, b);
  } else if (serial.kind === "file") {
    file = await Deno.open(serial.path, {
      write: true,
      create: true,
      truncate: true,
    });
    const f = file;
    write = (b) => writeAll(f, b);
  }
  const interactive = serial.kind === "stdio" || serial.kind === "mon:stdio";
  const enc = new TextEncoder();
  const ring = new InputRing(start.inputBuffer);

  const worker = new Worker(new URL("./_vcpu_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    return await withRawStdin(async () => {
      const done = new Promise<number>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<ToMain>) => {
          const m = e.data;
          if (m.type === "output") write(m.bytes);
          else if (m.type === "error") {
            const err = new Error(m.message);
            err.name = m.name;
            reject(err);
          } else if (m.type === "exit") {
            if (m.reason === "trap-loop") {
              reject(
                new Error(
                  `Guest stopped making progress: 100000 traps in a row without retiring an instruction (${m.detail}); check the trap vector the guest set up`,
                ),
              );
            } else resolve(m.reason === "reset" ? 0 : m.code);
            if (m.reason === "replay-end" && interactive) {
              write(enc.encode(
                `\r\ndeja: replay reached the end of ${rrfile} at instruction ${m.icount}\r\n`,
              ));
            }
          }
        };
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`The vCPU worker failed: ${e.message}`));
        };
      });
      // In a replay, input comes only from the log: the pump only watches
      // for the quit keys (the machine ignores what it types).
      const pump = interactive
        ? pumpStdin(ring, serial.kind === "mon:stdio", write)
        : undefined;
      worker.postMessage(start);
      try {
        return await done;
      } finally {
        pump?.stop();
      }
    });
  } finally {
    worker.terminate();
    file?.close();
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
  const missing: RequiredPermission[] = [];
  try {
    await checkPermissions(config);
  } catch (err) {
    if (!(err instanceof PermissionError)) throw err;
    missing.push(...err.missing);
  }
  const w = workerPermission();
  const status = await Deno.permissions.query(
    w.name === "read" || w.name === "write"
      ? { name: "read", path: w.path }
      : { name: "import", host: w.host },
  );
  if (status.state !== "granted") missing.push(w);
  if (missing.length > 0) throw new PermissionError(missing);
}

function writeAll(w: { writeSync(p: Uint8Array): number }, b: Uint8Array) {
  let off = 0;
  while (off < b.length) off += w.writeSync(b.subarray(off));
}

function pumpStdin(
  ring: InputRing,
  escapes: boolean,
  write: (b: Uint8Array) => void,
): { stop(): void } {
  const filter = new EscapeFilter();
  const tty = Deno.stdin.isTerminal();
  const reader = Deno.stdin.readable.getReader();
  let stopped = false;
  const enc = new TextEncoder();
  (async () => {
    try {
      while (!stopped) {
        const { value, done } = await reader.read();
        if (done || !value) return;
        let data: Uint8Array = value;
        if (escapes) {
          const r = filter.push(value);
          data = r.data;
          for (const n of r.notes) write(enc.encode(n));
          for (const a of r.actions) {
            if (a === "quit") {
              write(enc.encode("\r\ndeja: terminating on C-a x\r\n"));
              ring.requestQuit();
              return;
            }
            if (a === "help") write(enc.encode(EscapeFilter.helpText));
          }
        } else if (tty && data.includes(3)) { // Ctrl-C in raw mode quits
          ring.requestQuit();
          return;
        }
        let off = 0;
        while (off < data.length && !stopped) {
          off += ring.put(data.subarray(off));
          if (off < data.length) await new Promise((r) => setTimeout(r, 5));
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

async function dumpFile(path: string): Promise<number> {
  const status = await Deno.permissions.query({ name: "read", path });
  if (status.state !== "granted") {
    throw new PermissionError([{
      name: "read",
      path,
      reason: "dump reads the log",
    }]);
  }
  const bytes = await readImage(path, "replay log");
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
