/**
 * The machine configuration that a log starts with (`EVENT_DEJA_CONFIG`),
 * and the check a replay makes against it: a replay on another machine
 * (another kernel, RAM size, icount shift...) would diverge silently, so it
 * is refused with the difference named instead.
 *
 * @module
 */

import type { ReplayConfig, ReplayImage } from "./log.ts";
import { pluginChangesMessage } from "../plugins/registry.ts";
import { STATE_HASH_VERSION } from "./state_hash.ts";

/** What a configuration is built from. */
export interface MachineDescription {
  /** RAM size in bytes. */
  memoryBytes: number;
  /** Firmware image, or "none". */
  bios: Uint8Array | "none";
  /** Kernel image. */
  kernel?: Uint8Array | undefined;
  /** Initial ramdisk. */
  initrd?: Uint8Array | undefined;
  /** A device tree given instead of the generated one. */
  dtb?: Uint8Array | undefined;
  /** Kernel command line. */
  append?: string | undefined;
  /** icount shift. */
  icountShift: number;
  /** Whether idle time follows real time (`sleep=on`). */
  sleep: boolean;
  /** Whether a guest reset exits (`-no-reboot`). */
  noReboot: boolean;
  /** Devices on the board, in creation order. */
  devices: string[];
  /** Plugins, in registration order. */
  plugins: { name: string; version: string }[];
  /** State hash interval (`rrcheck`), 0 for none. */
  rrcheck: number;
  /**
   * virtio devices in command-line order, each disk with its image's
   * identity (size and SHA-256 of the file).
   */
  virtio?: VirtioConfig[] | undefined;
  /**
   * The virtio-mmio slots show version 1 (legacy, QEMU's default) rather
   * than 2. Logs made before deja had virtio devices do not say: their
   * (empty) slots were version 2.
   *
   * @default {true}
   */
  virtioLegacy?: boolean | undefined;
}

/**
 * The virtio-mmio version a log was recorded with: version 1 (legacy)
 * unless the log says 2 or predates the field (empty version-2 slots).
 *
 * @param config the log's configuration
 * @returns whether a replay must show legacy (version 1) slots
 * @example
 * ```ts
 * import { recordedVirtioLegacy } from "./config.ts";
 * console.log(recordedVirtioLegacy({ virtioMmioVersion: 1 })); // true
 * console.log(recordedVirtioLegacy({})); // false
 * ```
 */
export function recordedVirtioLegacy(
  config: Readonly<Record<string, unknown>>,
): boolean {
  return (config.virtioMmioVersion ?? 2) === 1;
}

/** A virtio device as a log's configuration names it. */
export interface VirtioConfig {
  /** `blk` or `rng`. */
  kind: string;
  /** A disk's image file: its size and SHA-256. */
  image?: ReplayImage | undefined;
}

async function image(bytes: Uint8Array | undefined): Promise<
  ReplayImage | null
> {
  if (bytes === undefined) return null;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  const sha256 = [...digest].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return { sha256, size: bytes.length };
}

/**
 * Build the configuration of a machine, hashing its images.
 *
 * @param d the machine
 * @returns the configuration to log
 * @example Describe a machine without images
 * ```ts
 * import { machineConfig } from "./config.ts";
 * const c = await machineConfig({
 *   memoryBytes: 1 << 20, bios: "none", icountShift: 3, sleep: false,
 *   noReboot: false, devices: [], plugins: [], rrcheck: 0,
 * });
 * console.log(c.board, c.kernel); // virt null
 * ```
 */
export async function machineConfig(
  d: MachineDescription,
): Promise<ReplayConfig> {
  return {
    board: "virt",
    ramSize: d.memoryBytes,
    firmware: d.bios === "none" ? null : await image(d.bios),
    kernel: await image(d.kernel),
    initrd: await image(d.initrd),
    dtb: await image(d.dtb),
    append: d.append ?? null,
    icountShift: d.icountShift,
    sleep: d.sleep,
    noReboot: d.noReboot,
    devices: d.devices,
    plugins: d.plugins,
    rrcheck: d.rrcheck,
    ...(d.virtio?.length ? { virtio: d.virtio } : {}),
    virtioMmioVersion: d.virtioLegacy === false ? 2 : 1,
    // The state hashes (rrcheck) hash the machine snapshot's sections.
    stateHash: STATE_HASH_VERSION,
  };
}

/**
 * The replay's machine is not the one the log was recorded on. The message
 * names the first difference.
 */
export class ReplayConfigError extends Error {
  /** The configuration field that differs, such as `"kernel"`. */
  readonly field: string;

  /**
   * Create the error.
   *
   * @param field the field that differs
   * @param detail how it differs
   */
  constructor(field: string, detail: string) {
    super(`Cannot replay this log on this machine: ${detail}`);
    this.name = "ReplayConfigError";
    this.field = field;
  }
}

const IMAGE_NAMES: Record<string, string> = {
  firmware: "firmware image (-bios)",
  kernel: "kernel image (-kernel)",
  initrd: "initrd image (-initrd)",
  dtb: "device tree (-dtb)",
};

function short(i: unknown): string {
  if (i === null || i === undefined) return "none";
  const img = i as ReplayImage;
  return `sha256 ${img.sha256.slice(0, 16)}… (${img.size} bytes)`;
}

/**
 * Compare a recorded configuration with the replay's.
 *
 * @param recorded the log's configuration
 * @param given the replaying machine's
 * @throws {ReplayConfigError} naming the first difference
 * @example A different kernel
 * ```ts
 * import { checkConfig, machineConfig, ReplayConfigError } from "./config.ts";
 * const base = {
 *   memoryBytes: 1 << 20, bios: "none" as const, icountShift: 3, sleep: false,
 *   noReboot: false, devices: [], plugins: [], rrcheck: 0,
 * };
 * const a = await machineConfig({ ...base, kernel: new Uint8Array([1]) });
 * const b = await machineConfig({ ...base, kernel: new Uint8Array([2]) });
 * try {
 *   checkConfig(a, b);
 * } catch (e) {
 *   if (!(e instanceof ReplayConfigError)) throw e;
 *   console.log(e.message); // ...kernel image (-kernel) differs: recorded sha256 4bf5122f344554c5… (1 bytes), given sha256 dbc1b4c900ffe48d… (1 bytes)
 * }
 * ```
 */
export function checkConfig(recorded: ReplayConfig, given: ReplayConfig): void {
  if (recorded.board !== given.board) {
    throw new ReplayConfigError(
      "board",
      `the board differs: recorded ${recorded.board}, given ${given.board}`,
    );
  }
  if (recorded.ramSize !== given.ramSize) {
    throw new ReplayConfigError(
      "ramSize",
      `the RAM size differs: recorded ${recorded.ramSize} bytes, given ${given.ramSize} bytes; use -m ${
        recorded.ramSize / (1024 * 1024)
      }M`,
    );
  }
  for (const key of Object.keys(IMAGE_NAMES)) {
    const r = (recorded[key] ?? null) as ReplayImage | null;
    const g = (given[key] ?? null) as ReplayImage | null;
    if (r?.sha256 !== g?.sha256 || r?.size !== g?.size) {
      throw new ReplayConfigError(
        key,
        `the ${IMAGE_NAMES[key]} differs: recorded ${short(r)}, given ${
          short(g)
        }`,
      );
    }
  }
  const scalars: [string, string][] = [
    ["append", "kernel command line (-append)"],
    ["icountShift", "icount shift (-icount shift=N)"],
    ["sleep", "idle mode (-icount sleep=on|off)"],
    ["noReboot", "-no-reboot setting"],
  ];
  for (const [key, name] of scalars) {
    const r = recorded[key] ?? null, g = given[key] ?? null;
    if (r !== g) {
      throw new ReplayConfigError(
        key,
        `the ${name} differs: recorded ${JSON.stringify(r)}, given ${
          JSON.stringify(g)
        }`,
      );
    }
  }
  const list = (v: unknown) => JSON.stringify(v ?? []);
  if (list(recorded.devices) !== list(given.devices)) {
    throw new ReplayConfigError(
      "devices",
      `the devices differ: recorded ${list(recorded.devices)}, given ${
        list(given.devices)
      }`,
    );
  }
  const rVersion = recorded.virtioMmioVersion ?? 2;
  const gVersion = given.virtioMmioVersion ?? 2;
  if (rVersion !== gVersion) {
    throw new ReplayConfigError(
      "virtioMmioVersion",
      `the virtio-mmio version differs: recorded ${rVersion}, given ${gVersion}${
        recorded.virtioMmioVersion === undefined
          ? " (the log predates virtio devices: its empty slots were version 2)"
          : ""
      }`,
    );
  }
  const rv = (recorded.virtio ?? []) as VirtioConfig[];
  const gv = (given.virtio ?? []) as VirtioConfig[];
  for (let i = 0; i < Math.max(rv.length, gv.length); i++) {
    const r = rv[i], g = gv[i];
    if (r?.kind !== g?.kind) {
      throw new ReplayConfigError(
        "virtio",
        `the virtio devices differ: recorded ${
          rv.map((v) => v.kind).join(", ") || "none"
        }, given ${
          gv.map((v) => v.kind).join(", ") || "none"
        }; give the -device virtio-* options of the recording, in its order`,
      );
    }
    if (
      r?.image?.sha256 !== g?.image?.sha256 || r?.image?.size !== g?.image?.size
    ) {
      throw new ReplayConfigError(
        "virtio",
        `the disk image of virtio device ${i + 1} (virtio-${
          r!.kind
        }) differs: recorded ${short(r?.image)}, given ${
          short(g?.image)
        }; replay with the image file the session was recorded with (recording leaves it unchanged)`,
      );
    }
  }
  if (list(recorded.plugins) !== list(given.plugins)) {
    throw new ReplayConfigError(
      "plugins",
      pluginChangesMessage(recorded.plugins ?? [], given.plugins ?? []) ??
        `the plugins are loaded in another order: recorded ${
          list(recorded.plugins)
        }, given ${
          list(given.plugins)
        }; give the -device options in the order of the recording`,
    );
  }
}
