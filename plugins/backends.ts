/**
 * Starting a device's backend: the host side of a `-device` plugin. The
 * backend gets a context whose `emit` checks the kind against its
 * `produces`, encodes the value with the device's codec, and hands it on
 * qualified with the device instance it feeds (`kind@instance`), so that
 * two instances of one plugin each get their own data, in a recording and in
 * its replay.
 *
 * A backend runs on the host's event loop (timers, sockets): an exception
 * thrown into its own callbacks would end the process with a stack trace.
 * So a failure of its `emit` (an undeclared kind, a codec that throws) is
 * not thrown back at it: it goes to `onError` as an error that names the
 * plugin and the instance, and the caller ends the run cleanly.
 *
 * @example Feed instance `s2` of a device from its backend
 * ```ts
 * import { startDeviceBackend } from "./backends.ts";
 * import { defineBackendPlugin, defineDevicePlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * const feed = defineBackendPlugin({
 *   kind: "backend", name: "feed", version: "1", apiVersion: PLUGIN_API_VERSION,
 *   produces: ["dev.value"],
 *   create: (ctx) => {
 *     ctx.emit("dev.value", 7);
 *     return {};
 *   },
 * });
 * const dev = defineDevicePlugin({
 *   kind: "device", name: "dev", version: "1", apiVersion: PLUGIN_API_VERSION,
 *   produces: ["dev.value"],
 *   events: {
 *     "dev.value": {
 *       encode: (v: number) => Uint8Array.of(v),
 *       decode: (b) => b[0]!,
 *       apply: () => {},
 *     },
 *   },
 *   backend: feed,
 *   create: () => ({ regions: [], reset() {} }),
 * });
 * const got: string[] = [];
 * await startDeviceBackend({
 *   device: dev,
 *   instance: "s2",
 *   sink: (kind, payload) => got.push(`${kind} ${payload[0]}`),
 *   onError: (e) => console.error(e.message),
 * });
 * console.log(got); // [ "dev.value@s2 7" ]
 * ```
 *
 * @module
 */

import { qualifyKind } from "./host.ts";
import { parseOptions } from "./options.ts";
import {
  type AnyBackendPlugin,
  type AnyDevicePlugin,
  type BackendInstance,
  CORE_EVENT_KINDS,
  type EventCodec,
  PluginCallbackError,
  PluginError,
  UndeclaredEventError,
} from "./registry.ts";

/** What {@linkcode startDeviceBackend} needs. */
export interface DeviceBackendStart {
  /** The device plugin whose `backend` to start. */
  device: AnyDevicePlugin;
  /**
   * The device instance the backend feeds (`name=`, or the plugin name).
   */
  instance: string;
  /**
   * The backend's options (`key=value` text or pairs).
   *
   * @default {{}}
   */
  options?: string | Readonly<Record<string, string>>;
  /**
   * Where emitted events go: the kind qualified with the instance
   * (`kind@instance`; a core kind such as `serial` as it is) and the
   * payload encoded by the device's codec.
   *
   * @param kind the qualified kind
   * @param payload the encoded value
   */
  sink(kind: string, payload: Uint8Array): void;
  /**
   * A failure of the backend while it runs (an undeclared kind, a codec
   * that throws): print it on its own line and end the run. It is never
   * thrown into the backend's own callbacks.
   *
   * @param error names the plugin, the instance and the cause
   */
  onError(error: Error): void;
  /**
   * Stop the machine, as Ctrl-A x does.
   *
   * @default {() => {}}
   */
  quit?: () => void;
}

/**
 * Start the backend of a device instance, if its plugin has one.
 *
 * @param start the device, instance, options and where events go
 * @returns the backend instance (its `pull` answers the device's
 * `ctx.pull`), or undefined if the plugin has no backend
 * @throws {PluginError} if the backend's options are bad or its `create`
 * fails (naming the backend, the instance and the cause)
 */
export async function startDeviceBackend(
  start: DeviceBackendStart,
): Promise<BackendInstance | undefined> {
  const created = createBackend(start);
  if (!created) return undefined;
  try {
    return await created.instance;
  } catch (e) {
    throw created.failed(e);
  }
}

/**
 * Start the backend of a device instance now, in the caller's turn, as
 * {@linkcode startDeviceBackend} does: for a backend that must start where
 * the caller cannot wait (a device that pulls, whose backend starts in the
 * vCPU's thread when a replay goes live).
 *
 * @param start the device, instance, options and where events go
 * @returns the backend instance, or undefined if the plugin has no backend
 * @throws {PluginError} if the backend's options are bad, its `create`
 * fails, or `create` returns a promise (it cannot be waited for)
 * @example A backend that answers pulls
 * ```ts
 * import { startDeviceBackendNow } from "./backends.ts";
 * import { defineBackendPlugin, defineDevicePlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * const host = defineBackendPlugin({
 *   kind: "backend", name: "host", version: "1", apiVersion: PLUGIN_API_VERSION,
 *   produces: ["dev.word"],
 *   create: () => ({ pull: () => 42 }),
 * });
 * const dev = defineDevicePlugin({
 *   kind: "device", name: "dev", version: "1", apiVersion: PLUGIN_API_VERSION,
 *   produces: ["dev.word"], pulls: ["dev.word"],
 *   events: {
 *     "dev.word": { encode: (v: number) => Uint8Array.of(v), decode: (b) => b[0]!, apply: () => {} },
 *   },
 *   backend: host,
 *   create: () => ({ regions: [], reset() {} }),
 * });
 * const b = startDeviceBackendNow({ device: dev, instance: "dev", sink() {}, onError() {} });
 * console.log(b?.pull?.("dev.word")); // 42
 * ```
 */
export function startDeviceBackendNow(
  start: DeviceBackendStart,
): BackendInstance | undefined {
  const created = createBackend(start);
  if (!created) return undefined;
  const instance = created.instance;
  if (instance instanceof Promise || isThenable(instance)) {
    Promise.resolve(instance).catch(() => {});
    throw created.failed(
      new Error(
        "it returned a promise, and it must start at once here (a device that pulls, going live from a replay): create the backend synchronously",
      ),
    );
  }
  return instance;
}

/** Whether `v` is a promise-like value (what `await` would wait for). */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

/** Call a backend's `create` (without waiting), and how to name a failure. */
function createBackend(start: DeviceBackendStart):
  | {
    instance: BackendInstance | Promise<BackendInstance>;
    failed: (e: unknown) => PluginError;
  }
  | undefined {
  const device = start.device;
  const backend = device.backend as AnyBackendPlugin | undefined;
  if (!backend) return undefined;
  const instance = start.instance;
  const who = `${backend.name} (backend of ${instance})`;
  const declared = backend.produces ?? [];
  const codecs = (device.events ?? {}) as Record<
    string,
    EventCodec<unknown, unknown>
  >;
  const emit = (kind: string, value: unknown): void => {
    try {
      if (!declared.includes(kind)) {
        throw new UndeclaredEventError(who, kind, declared);
      }
      if (CORE_EVENT_KINDS.includes(kind)) {
        start.sink(kind, value as Uint8Array);
        return;
      }
      const codec = codecs[kind];
      if (!codec) {
        throw new PluginError(
          who,
          `it emitted ${kind}, but ${device.name} brings no codec for it; add it to the device's events`,
        );
      }
      let payload: Uint8Array;
      try {
        payload = codec.encode(value);
      } catch (e) {
        throw new PluginCallbackError({
          plugin: device.name,
          instance,
          callback: `the event ${kind}'s encode (emitted by ${backend.name})`,
          cause: e,
        });
      }
      start.sink(qualifyKind(kind, instance), payload);
    } catch (e) {
      start.onError(e instanceof Error ? e : new Error(String(e)));
    }
  };
  const options = parseOptions(
    backend.name,
    backend.options ?? {},
    start.options ?? {},
  );
  const failed = (e: unknown) =>
    new PluginError(
      backend.name,
      `its create function failed for device ${instance}: ${
        e instanceof Error ? e.message : String(e)
      }`,
      { cause: e },
    );
  try {
    return {
      instance: backend.create(
        Object.freeze({
          name: instance,
          emit,
          quit: start.quit ?? (() => {}),
        }),
        options,
      ),
      failed,
    };
  } catch (e) {
    throw failed(e);
  }
}
