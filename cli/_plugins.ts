// Internal: `-device`, `-plugin` and the `-serial` backend in the deja
// command. The main loop loads every plugin module first (so that a broken
// plugin fails before the machine starts, with a clear error), starts the
// backends, and passes the module URLs to the vCPU worker, which imports
// them again (device plugins run there). Backend events travel to the
// worker through a shared byte ring, framed as
// [u16 kind length][kind][u32 payload length][payload]; the worker injects
// each at its current instruction count, which a recording logs.

import type { MachineConfig, SerialConfig } from "./args.ts";
import type { VirtMachine } from "../devices/virt.ts";
import { InputRing } from "./_input_ring.ts";
import type { DeviceSpec } from "../plugins/host.ts";
import {
  startDeviceBackend,
  startDeviceBackendNow,
} from "../plugins/backends.ts";
import { checkLogEventKinds } from "../replay/machine_log.ts";
import type { InstrumentationHooks } from "../plugins/instrumentation.ts";
import {
  createInstrumentation,
  cwdUrl,
  importPlugin,
  loadInstrumentation,
  pluginUrl,
  splitDeviceProps,
} from "../plugins/loader.ts";
import { parseOptions } from "../plugins/options.ts";
import {
  type AnyBackendPlugin,
  type AnyDevicePlugin,
  type BackendInstance,
  checkedEmit,
  PluginError,
} from "../plugins/registry.ts";
import {
  fileBackend,
  nullBackend,
  socketBackend,
  stdioBackend,
} from "../plugins/char_backends.ts";

/** What the worker needs to load the plugins (structured-cloneable). */
export interface PluginStart {
  /** `-device` plugins. */
  devices: {
    url: string;
    shown: string;
    addr: number;
    irq?: number;
    name?: string;
    options: Record<string, string>;
    /**
     * The options of its backend, when the backend runs in the worker: a
     * device that pulls host data (`pulls`) needs its backend's `pull` in
     * the thread of the machine.
     */
    pullBackend?: Record<string, string>;
    /**
     * In a replay, where the log serves the pulls: the backend starts only
     * if the replay goes live ({@linkcode WorkerPlugins.goLive}).
     */
    pullWhenLive?: boolean;
  }[];
  /** `-plugin` instrumentation. */
  instrumentation: {
    specifier: string;
    base: string;
    options: Record<string, string>;
  }[];
  /** The event ring's buffer. */
  eventBuffer: SharedArrayBuffer;
}

/** The plugins of a command line, loaded on the main loop. */
export interface CliPlugins {
  /** For the worker. */
  start: PluginStart;
  /** Device plugins `{ name, version }`, for the recording's config. */
  refs: { name: string; version: string }[];
  /** The device plugins, for checking a replay log's event kinds. */
  devices: { plugin: AnyDevicePlugin; name: string }[];
  /**
   * Start the device plugins' backends (not in a replay), one per device
   * instance.
   *
   * @param wake wakes an idle vCPU
   * @param onError a backend failed while running (names the plugin and the
   *   instance): end the run
   */
  startBackends(
    wake: () => void,
    onError: (error: Error) => void,
  ): Promise<void>;
  /** Stop the backends. */
  close(): Promise<void>;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Load the `-device` and `-plugin` modules and check their options. */
export async function loadCliPlugins(
  config: MachineConfig,
): Promise<CliPlugins> {
  const base = cwdUrl();
  const loaded: {
    plugin: AnyDevicePlugin;
    backend: Record<string, string>;
    instance: string;
  }[] = [];
  const start: PluginStart = {
    devices: [],
    instrumentation: [],
    eventBuffer: new InputRing().buffer,
  };
  for (const d of config.devices) {
    const url = pluginUrl(d.driver, base);
    if (!/[/.]/.test(d.driver) && !/^[a-z]+:/.test(d.driver)) {
      throw new Error(
        `Cannot add device ${d.driver}: deja has no built-in device of that name (the virt board's devices are always there); give the path of a device plugin module, such as -device ./my_device.ts,addr=0x10010000`,
      );
    }
    const plugin = await importPlugin(
      url,
      d.driver,
      "device",
    ) as AnyDevicePlugin;
    const placed = splitDeviceProps(plugin, d.props);
    loaded.push({
      plugin,
      backend: placed.backend,
      instance: placed.name ?? plugin.name,
    });
    const pulls = (plugin.pulls?.length ?? 0) > 0 && plugin.backend;
    start.devices.push({
      url: url.href,
      shown: d.driver,
      addr: placed.addr,
      ...(placed.irq !== undefined ? { irq: placed.irq } : {}),
      ...(placed.name !== undefined ? { name: placed.name } : {}),
      options: placed.device,
      ...(pulls ? { pullBackend: placed.backend } : {}),
      ...(pulls && config.icount.rr === "replay" ? { pullWhenLive: true } : {}),
    });
  }
  for (const p of config.plugins) {
    const plugin = await loadInstrumentation(p.path, base);
    parseOptions(plugin.name, plugin.options ?? {}, p.props); // fail early
    start.instrumentation.push({
      specifier: p.path,
      base: base.href,
      options: p.props,
    });
  }
  const ring = new InputRing(start.eventBuffer);
  const instances: BackendInstance[] = [];
  const backlog: Uint8Array[] = [];
  let wake = () => {};
  const pump = () => {
    while (backlog.length > 0) {
      const frame = backlog[0]!;
      const n = ring.put(frame);
      if (n < frame.length) {
        backlog[0] = frame.subarray(n);
        setTimeout(pump, 2);
        return;
      }
      backlog.shift();
    }
    wake();
  };
  return {
    start,
    refs: loaded.map((l) => ({
      name: l.plugin.name,
      version: l.plugin.version,
    })),
    devices: loaded.map((l) => ({ plugin: l.plugin, name: l.instance })),
    async startBackends(w, onError) {
      wake = w;
      for (const { plugin, backend, instance } of loaded) {
        // A device that pulls has its backend in the worker instead.
        if ((plugin.pulls?.length ?? 0) > 0) continue;
        // Each instance's backend, its events named for the instance
        // (kind@instance); a failure is reported, not thrown into its timers.
        const started = await startDeviceBackend({
          device: plugin,
          instance,
          options: backend,
          sink: (kind, payload) => {
            const k = utf8.encode(kind);
            const frame = new Uint8Array(6 + k.length + payload.length);
            const v = new DataView(frame.buffer);
            v.setUint16(0, k.length, true);
            frame.set(k, 2);
            v.setUint32(2 + k.length, payload.length, true);
            frame.set(payload, 6 + k.length);
            backlog.push(frame);
            if (backlog.length === 1) pump();
          },
          onError,
        });
        if (started) instances.push(started);
      }
    },
    async close() {
      for (const i of instances) await i.close?.();
    },
  };
}

/**
 * Refuse a log that holds plugin event kinds that none of the loaded
 * device plugins brings, before anything runs.
 */
export function checkLogPluginKinds(
  log: Uint8Array,
  devices: readonly { plugin: AnyDevicePlugin }[],
): void {
  checkLogEventKinds(log, devices);
}

/** The backend plugin and options of a `-serial` setting. */
export function serialBackend(
  serial: SerialConfig,
): { plugin: AnyBackendPlugin; options: Record<string, string> } {
  switch (serial.kind) {
    case "stdio":
      return { plugin: stdioBackend, options: {} };
    case "mon:stdio":
      return { plugin: stdioBackend, options: { mux: "on" } };
    case "null":
      return { plugin: nullBackend, options: {} };
    case "file":
      return { plugin: fileBackend, options: { path: serial.path } };
    case "tcp":
      return {
        plugin: socketBackend,
        options: {
          host: serial.host,
          port: String(serial.port),
          wait: serial.wait ? "on" : "off",
        },
      };
  }
}

/**
 * Open the `-serial` backend.
 *
 * @param serial the setting
 * @param input where serial input goes (the UART ring)
 * @param quit asks the machine to stop
 * @param replay whether this is a replay (input is not read), or a
 * function that says so at each input (a replay may go live)
 * @param stdinOwned the caller reads stdin itself (the terminal backend
 * then only writes)
 */
export async function openSerial(
  serial: SerialConfig,
  input: (bytes: Uint8Array) => void,
  quit: () => void,
  replay: boolean | (() => boolean),
  stdinOwned = false,
): Promise<BackendInstance> {
  const { plugin, options } = serialBackend(serial);
  // A replay that goes live (replay_go_live) takes the backend's input.
  const replaying = typeof replay === "function" ? replay : () => replay;
  if (plugin === stdioBackend && (replaying() || stdinOwned)) {
    options.input = "off";
  }
  if (plugin === stdioBackend && stdinOwned) delete options.mux;
  const emit = checkedEmit(plugin, (_kind, value) => {
    if (!replaying()) input(value as Uint8Array);
  });
  return await plugin.create(
    { name: plugin.name, emit, quit },
    parseOptions(plugin.name, plugin.options ?? {}, options),
  );
}

/**
 * Send the plugins to the worker and wait until it has imported them.
 * Prints their report lines (instrumentation output) on stderr from then
 * on. Resolves false if the worker reported an error instead (the caller's
 * own message handler shows it).
 */
export function sendPlugins(
  worker: Worker,
  start: PluginStart,
): Promise<boolean> {
  const enc = new TextEncoder();
  return new Promise((resolve) => {
    worker.addEventListener("message", (e: MessageEvent) => {
      const m = e.data as { type: string; lines?: string[] };
      if (m.type === "plugins-ready") resolve(true);
      else if (m.type === "error") resolve(false);
      else if (m.type === "plugin-output") {
        const text = m.lines!.join("\n") + "\n";
        const b = enc.encode(text);
        let off = 0;
        while (off < b.length) off += Deno.stderr.writeSync(b.subarray(off));
      }
    });
    worker.postMessage({ type: "plugins", start });
  });
}

// ---------------------------------------------------------------------------
// Worker side

/** The plugins as the worker builds the machine with them. */
export interface WorkerPlugins {
  /** Plugin devices for the machine. */
  devices: DeviceSpec[];
  /** Instrumentation callbacks. */
  hooks: InstrumentationHooks[];
  /** Inject the backend events that arrived. */
  drain(m: VirtMachine): void;
  /** Send the instrumentation output lines that are buffered. */
  flush(): void;
  /**
   * The replay went live: start the backends of the devices that pull,
   * which the log served until now.
   *
   * @throws {Error} naming the backend, when one cannot start
   */
  goLive(): void;
}

/** No plugins: what the worker has without -device and -plugin. */
export const NO_PLUGINS: WorkerPlugins = {
  devices: [],
  hooks: [],
  drain() {},
  flush() {},
  goLive() {},
};

/** Import the plugins in the worker. */
export async function workerPlugins(
  start: PluginStart | undefined,
  post: (lines: string[]) => void,
): Promise<WorkerPlugins> {
  if (!start) {
    return { devices: [], hooks: [], drain() {}, flush() {}, goLive() {} };
  }
  const devices: DeviceSpec[] = [];
  // Events that worker-side backends emit, injected at the next drain.
  const local: [string, Uint8Array][] = [];
  // Pulling devices' backends that start when a replay goes live.
  const whenLive: (() => void)[] = [];
  for (const d of start.devices) {
    const plugin = await importPlugin(
      new URL(d.url),
      d.shown,
      "device",
    ) as AnyDevicePlugin;
    let pull: ((kind: string) => unknown) | undefined;
    if (d.pullBackend && d.pullWhenLive) {
      // A replay: the log serves the pulls; live, the backend does.
      const instance = d.name ?? plugin.name, options = d.pullBackend;
      let live: ((kind: string) => unknown) | undefined;
      whenLive.push(() => {
        const started = startDeviceBackendNow({
          device: plugin,
          instance,
          options,
          sink: (kind, payload) => local.push([kind, payload]),
          onError: (e) => {
            throw e;
          },
        });
        if (started?.pull) live = (kind) => started.pull!(kind);
      });
      pull = (kind) => {
        if (!live) {
          throw new PluginError(
            plugin.name,
            `device ${instance} pulled ${kind}, but there is no value for it: the replay log has none at this instruction`,
          );
        }
        return live(kind);
      };
    } else if (d.pullBackend) {
      // Its backend answers ctx.pull synchronously, here, at the
      // instruction that asks; the host logs each value as one event.
      const instance = d.name ?? plugin.name;
      const started = await startDeviceBackend({
        device: plugin,
        instance,
        options: d.pullBackend,
        sink: (kind, payload) => local.push([kind, payload]),
        onError: (e) => {
          throw e;
        },
      });
      // (It lives as long as the worker: the worker ends with the run.)
      if (started?.pull) pull = (kind) => started.pull!(kind);
    }
    devices.push({
      plugin,
      addr: d.addr,
      ...(d.irq !== undefined ? { irq: d.irq } : {}),
      ...(d.name !== undefined ? { name: d.name } : {}),
      options: d.options,
      ...(pull ? { pull } : {}),
    });
  }
  let lines: string[] = [];
  const flush = () => {
    if (lines.length > 0) {
      post(lines);
      lines = [];
    }
  };
  const hooks: InstrumentationHooks[] = [];
  for (const p of start.instrumentation) {
    const plugin = await loadInstrumentation(p.specifier, p.base);
    hooks.push(createInstrumentation(plugin, p.options, (line) => {
      lines.push(line);
      if (lines.length >= 512) flush();
    }));
  }
  const ring = new InputRing(start.eventBuffer);
  let pending = new Uint8Array(0);
  return {
    devices,
    hooks,
    flush,
    goLive() {
      for (const start of whenLive.splice(0)) start();
    },
    drain(m) {
      for (const [kind, payload] of local.splice(0)) {
        m.injectEvent(kind, payload);
      }
      const got = ring.take();
      if (got.length === 0) return;
      const all = new Uint8Array(pending.length + got.length);
      all.set(pending);
      all.set(got, pending.length);
      const v = new DataView(all.buffer);
      let at = 0;
      while (all.length - at >= 2) {
        const kl = v.getUint16(at, true);
        if (all.length - at < 6 + kl) break;
        const pl = v.getUint32(at + 2 + kl, true);
        if (all.length - at < 6 + kl + pl) break;
        const kind = utf8d.decode(all.subarray(at + 2, at + 2 + kl));
        const payload = all.slice(at + 6 + kl, at + 6 + kl + pl);
        m.injectEvent(kind, payload);
        at += 6 + kl + pl;
      }
      pending = all.slice(at);
    },
  };
}
