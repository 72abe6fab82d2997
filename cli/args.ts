/**
 * Command-line parsing for deja.
 *
 * deja accepts QEMU's option syntax for the options it supports, so that a
 * command line from QEMU's documentation works as it is:
 *
 * ```sh
 * deno run --allow-read mod.ts -M virt -m 256M -bios fw_jump.elf \
 *   -kernel u-boot.bin -nographic
 * ```
 *
 * Each option may also be spelled `--opt` and `-opt=value`. Options that take
 * `key=value` lists (`-m`, `-smp`, `-icount`, `-device`, `-plugin`, `-M`)
 * follow QEMU's rules: the first item may omit its key (`-icount 3` is
 * `-icount shift=3`) and `,,` stands for a literal comma. When an option is
 * given twice, the last one wins, except for `-device` and `-plugin`, which
 * add up, and `-serial`, which may be given once.
 *
 * The parser does no I/O: it checks the syntax and the values, and leaves
 * files, permissions and sockets to the caller.
 *
 * @module
 */

import { parseQmpAddress } from "./qmp.ts";
import type { QmpListenOptions } from "./qmp.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The firmware that `-bios default` (and no `-bios` at all) loads: OpenSBI's
 * generic `fw_dynamic.bin` as Debian and Ubuntu install it.
 *
 * @example Use the path
 * ```ts
 * import { DEFAULT_BIOS_PATH } from "./args.ts";
 * if (!DEFAULT_BIOS_PATH.endsWith("fw_dynamic.bin")) throw new Error("unreachable");
 * ```
 */
export const DEFAULT_BIOS_PATH =
  "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

/**
 * Guest RAM when `-m` is not given: 128 MiB, as in QEMU.
 *
 * @example Check the default
 * ```ts
 * import { DEFAULT_MEMORY_BYTES } from "./args.ts";
 * if (DEFAULT_MEMORY_BYTES !== 128 * 1024 * 1024) throw new Error("unreachable");
 * ```
 */
export const DEFAULT_MEMORY_BYTES: number = 128 * MiB;

/**
 * The largest guest RAM that `-m` accepts: 2047 MiB.
 *
 * @example Check the limit
 * ```ts
 * import { MAX_MEMORY_BYTES } from "./args.ts";
 * if (MAX_MEMORY_BYTES !== 2047 * 1024 * 1024) throw new Error("unreachable");
 * ```
 */
export const MAX_MEMORY_BYTES: number = 2047 * MiB;

/**
 * Where the serial console (the virt machine's UART) is connected.
 *
 * - `stdio`: the terminal; Ctrl-C is passed to the guest only in raw mode.
 * - `mon:stdio`: the terminal, with QEMU's Ctrl-A escapes (Ctrl-A x quits).
 *   `-nographic` selects it when `-serial` is not given, as in QEMU.
 * - `null`: output is discarded and there is no input.
 * - `file`: output is written to `path`; there is no input.
 * - `tcp`: a TCP server on `host:port` (`-serial
 *   tcp:127.0.0.1:PORT,server,nowait`); one client is the console. With
 *   `wait`, the guest starts once a client has connected.
 */
export type SerialConfig =
  | { kind: "stdio" }
  | { kind: "null" }
  | { kind: "file"; path: string }
  | { kind: "mon:stdio" }
  | { kind: "tcp"; host: string; port: number; wait: boolean };

/** Instruction counting and record/replay settings, from `-icount`. */
export interface IcountConfig {
  /**
   * Guest time advances 2^shift ns per instruction; `auto` lets the runner
   * choose.
   *
   * @default {3}
   */
  shift: number | "auto";
  /**
   * Whether the host sleeps when the guest is idle, so that guest time
   * follows host time.
   *
   * @default {true}
   */
  sleep: boolean;
  /** Record or replay the nondeterministic inputs in {@linkcode rrfile}. */
  rr?: "record" | "replay";
  /** The replay log; present whenever {@linkcode rr} is. */
  rrfile?: string;
  /** The name of the snapshot that the recording starts from. */
  rrsnapshot?: string;
  /** The replay check interval in instructions. */
  rrcheck?: number;
}

/** A `-device DRIVER[,KEY=VALUE...]` request. */
export interface DeviceConfig {
  /** A device name, or the path or URL of a device plugin module. */
  driver: string;
  /** The remaining `key=value` properties. */
  props: Record<string, string>;
}

/** A `-drive ...,if=none,id=ID` (an image, or a blkreplay over one). */
export interface DriveConfig {
  /** `id=`: what `-device virtio-blk-device,drive=ID` names. */
  id: string;
  /** `file=`: the image (absent for `driver=blkreplay`). */
  file?: string;
  /** `format=`: `raw` or `qcow2`. */
  format: "raw" | "qcow2";
  /** `readonly=on`. */
  readonly: boolean;
  /** `snapshot=on`: writes stay in memory; the file is unchanged. */
  snapshot: boolean;
  /** `driver=blkreplay,image=ID`: the drive this one replays through. */
  image?: string;
}

/** A virtio device (`-device virtio-blk-device,drive=ID`, `virtio-rng-device`). */
export type VirtioDeviceRequest =
  | {
    kind: "blk";
    /** The drive, blkreplay drives resolved to the image's drive. */
    drive: DriveConfig & { file: string };
  }
  | { kind: "rng" }
  | {
    kind: "net";
    /** The `-netdev` it is attached to. */
    netdev: NetdevConfig;
    /** `mac=`: six bytes (QEMU's 52:54:00:12:34:56... when absent). */
    mac?: number[];
  };

/**
 * A `-netdev user,id=ID[,tftp=DIR]`, or a stream to a peer:
 * `-netdev socket,id=ID,listen=|connect=HOST:PORT` or QEMU 7.2's
 * `-netdev stream,id=ID,server=on|off,addr.type=inet,addr.host=H,addr.port=P`.
 */
export interface NetdevConfig {
  /** `id=`. */
  id: string;
  /**
   * The backend: deja's built-in user network, or frames over TCP
   * (`socket` and `stream` both).
   */
  type: "user" | "socket";
  /** `tftp=DIR`: the TFTP server's files (user). */
  tftp?: string;
  /** Where the stream goes (socket). */
  socket?: NetdevSocket;
  /** `hostfwd=tcp:[HOST]:HPORT-[10.0.2.15]:GPORT` rules (user). */
  hostfwd?: HostForward[];
}

/** A user network's TCP port forwarding: host HOST:HPORT to guest GPORT. */
export interface HostForward {
  /** The host address to listen on (127.0.0.1 when empty). */
  hostname: string;
  /** The host port. */
  hostPort: number;
  /** The guest's port (on 10.0.2.15). */
  guestPort: number;
}

/** The TCP end of a `-netdev socket` or `stream`. */
export interface NetdevSocket {
  /** Wait for the peer (`listen=`, `server=on`) or connect to it. */
  mode: "listen" | "connect";
  /** The host (127.0.0.1 when empty, as in `listen=:PORT`). */
  hostname: string;
  /** The port. */
  port: number;
}

/** A `-plugin PATH[,KEY=VALUE...]` request. */
export interface PluginConfig {
  /** The path or URL of the plugin module. */
  path: string;
  /** The remaining `key=value` arguments. */
  props: Record<string, string>;
}

/** Everything that a `run` command needs to build and start the machine. */
export interface MachineConfig {
  /** The machine type; virt is the only one. */
  machine: "virt";
  /**
   * Guest RAM in bytes: a multiple of 4 KiB, at most
   * {@linkcode MAX_MEMORY_BYTES}.
   *
   * @default {134217728}
   */
  memoryBytes: number;
  /**
   * The firmware file, `none` for no firmware, or `default` for
   * {@linkcode DEFAULT_BIOS_PATH}.
   *
   * @default {"default"}
   */
  bios: string | "none" | "default";
  /** The kernel image (`-kernel`). */
  kernel?: string;
  /** The kernel command line (`-append`). */
  append?: string;
  /** The initial RAM disk (`-initrd`). */
  initrd?: string;
  /** A device tree blob that replaces the generated one (`-dtb`). */
  dtb?: string;
  /**
   * The serial console backend.
   *
   * @default {{ kind: "stdio" }} ({ kind: "mon:stdio" } with `-nographic`)
   */
  serial: SerialConfig;
  /** `-nographic` was given. */
  nographic: boolean;
  /** Exit instead of rebooting (`-no-reboot`). */
  noReboot: boolean;
  /** The number of harts; always 1. */
  smp: 1;
  /** Do not start the CPU until a debugger says so (`-S`). */
  startPaused: boolean;
  /** The gdbstub address, such as `tcp::1234` (`-gdb`, `-s`). */
  gdb?: string;
  /** Where QMP listens (`-qmp tcp:HOST:PORT,server,wait=off`). */
  qmp?: QmpListenOptions;
  /** Instruction counting and record/replay (`-icount`). */
  icount: IcountConfig;
  /** The `-device` requests, in command-line order. */
  devices: DeviceConfig[];
  /** The `-plugin` requests, in command-line order. */
  plugins: PluginConfig[];
  /** The `-drive` options, in command-line order. */
  drives: DriveConfig[];
  /** The `-netdev` options, in command-line order. */
  netdevs: NetdevConfig[];
  /**
   * The virtio devices, in command-line order (the first takes the last
   * virtio-mmio slot, as on QEMU).
   */
  virtio: VirtioDeviceRequest[];
  /** Networking; only `none` is supported. */
  net: "none";
}

/** What the command line asks deja to do. */
export type Command =
  | { kind: "help"; text: string }
  | { kind: "version" }
  | {
    kind: "dump";
    file: string;
    /** `--qemu OUT`: write a copy that QEMU's replay-dump.py reads. */
    qemuOut?: string;
  }
  | { kind: "run"; config: MachineConfig };

/**
 * A command line that deja cannot run. The message names the option and says
 * what to do instead; the error printer exits with status 2 for it.
 *
 * @example Catch a usage error
 * ```ts
 * import { parseCommandLine, UsageError } from "./args.ts";
 * try {
 *   parseCommandLine(["-foo"]);
 * } catch (err) {
 *   if (!(err instanceof UsageError)) throw err;
 *   console.log(err.message);
 * }
 * ```
 */
export class UsageError extends Error {
  /**
   * Creates a usage error.
   *
   * @param message The sentence-case message, with no trailing period.
   * @param options The standard error options, such as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

const SIZE_EXAMPLE = "expected a size such as 256M or 1G";
const QMP_EXPECTED =
  "expected tcp:[HOST]:PORT,server,wait=off or unix:PATH,server,wait=off";
const FILE_EXPECTED = "expected a file name";
const SERIAL_EXPECTED =
  "expected stdio, mon:stdio, null, file:PATH or tcp:127.0.0.1:PORT,server,nowait";
const GDB_EXPECTED = "expected tcp::PORT or tcp:HOST:PORT, such as tcp::1234";

function invalidValue(
  option: string,
  value: string,
  detail: string,
): UsageError {
  return new UsageError(
    `Invalid value for ${option}: ${JSON.stringify(value)}; ${detail}`,
  );
}

function unsupported(
  option: string,
  value: string | undefined,
  reason: string,
  fix: string,
): UsageError {
  const shown = value === undefined ? option : `${option} ${value}`;
  return new UsageError(`Unsupported option: ${shown}: ${reason}; ${fix}`);
}

/** The items of a QEMU `key=value,...` option value. */
interface OptionList {
  /** The value of the implied key, whether given bare or as `key=value`. */
  implied?: string;
  /** The other properties, in order; a repeated key keeps its last value. */
  props: Map<string, string>;
}

function splitItems(text: string): string[] {
  const items: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char !== ",") {
      current += char;
    } else if (text[i + 1] === ",") {
      current += ",";
      i++;
    } else {
      items.push(current);
      current = "";
    }
  }
  items.push(current);
  return items;
}

function parseOptionList(
  option: string,
  text: string,
  impliedKey: string,
  expected: string,
): OptionList {
  const items = splitItems(text);
  const props = new Map<string, string>();
  let implied: string | undefined;
  for (const [index, item] of items.entries()) {
    if (item === "" && index > 0) continue;
    const eq = item.indexOf("=");
    if (eq === -1) {
      if (index === 0) {
        implied = item;
        continue;
      }
      throw invalidValue(
        option,
        text,
        `"${item}" is not KEY=VALUE; ${expected}`,
      );
    }
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (key === "") {
      throw invalidValue(option, text, `"${item}" has no key; ${expected}`);
    }
    if (key === impliedKey) implied = value;
    else props.set(key, value);
  }
  return implied === undefined ? { props } : { implied, props };
}

function parseBoolean(
  option: string,
  text: string,
  key: string,
  value: string,
): boolean {
  switch (value) {
    case "on":
    case "yes":
    case "true":
    case "y":
      return true;
    case "off":
    case "no":
    case "false":
    case "n":
      return false;
  }
  throw invalidValue(option, text, `${key} must be on or off`);
}

const SIZE_PATTERN = /^(\d+)(?:\.(\d+))?([bkmgtpe])?$/i;
const SIZE_SHIFTS: Record<string, bigint> = {
  b: 0n,
  k: 10n,
  m: 20n,
  g: 30n,
  t: 40n,
  p: 50n,
  e: 60n,
};

/**
 * Parses a size as QEMU's `-m` does: a decimal number, optionally with a
 * fraction, and an optional suffix B, K, M, G, T, P or E (either case). A
 * number without a suffix counts MiB.
 *
 * @param text The size, such as `256M`, `1.5G` or `128`.
 * @returns The size in bytes, or `undefined` when `text` is not a size or is
 * not a whole number of bytes. The result may exceed
 * `Number.MAX_SAFE_INTEGER`; it is exact as a bigint.
 *
 * @example Parse sizes
 * ```ts
 * import { parseSize } from "./args.ts";
 * if (parseSize("256") !== 256n * 1024n * 1024n) throw new Error("unreachable");
 * if (parseSize("1.5k") !== 1536n) throw new Error("unreachable");
 * if (parseSize("12X") !== undefined) throw new Error("unreachable");
 * ```
 */
export function parseSize(text: string): bigint | undefined {
  const match = SIZE_PATTERN.exec(text);
  if (match === null) return undefined;
  const [, whole, fraction = "", suffix = "m"] = match;
  const shift = SIZE_SHIFTS[suffix.toLowerCase()]!;
  const scale = 10n ** BigInt(fraction.length);
  const scaled = (BigInt(whole!) * scale + BigInt("0" + fraction)) << shift;
  if (scaled % scale !== 0n) return undefined;
  return scaled / scale;
}

function parseMemory(option: string, text: string): number {
  const { implied, props } = parseOptionList(
    option,
    text,
    "size",
    SIZE_EXAMPLE,
  );
  for (const key of props.keys()) {
    if (key === "slots" || key === "maxmem") {
      throw unsupported(
        option,
        text,
        "deja has no memory hotplug",
        `give only the size, such as ${option} 256M`,
      );
    }
    throw invalidValue(
      option,
      text,
      `unknown property "${key}"; ${SIZE_EXAMPLE}`,
    );
  }
  if (implied === undefined) throw invalidValue(option, text, SIZE_EXAMPLE);
  const bytes = parseSize(implied);
  if (bytes === undefined) throw invalidValue(option, text, SIZE_EXAMPLE);
  if (bytes === 0n) {
    throw invalidValue(option, text, "guest RAM must be at least 4K");
  }
  if (bytes > BigInt(MAX_MEMORY_BYTES)) {
    throw invalidValue(
      option,
      text,
      `deja supports at most 2047M (${MAX_MEMORY_BYTES} bytes) of guest RAM`,
    );
  }
  if (bytes % 4096n !== 0n) {
    throw invalidValue(option, text, "guest RAM must be a multiple of 4K");
  }
  return Number(bytes);
}

function parseMachine(option: string, text: string): "virt" | "help" {
  const { implied, props } = parseOptionList(
    option,
    text,
    "type",
    "expected virt",
  );
  if (implied === "help" || implied === "?") return "help";
  if (implied !== "virt") {
    throw unsupported(
      option,
      text,
      "deja emulates only the virt machine",
      `use ${option} virt`,
    );
  }
  for (const key of props.keys()) {
    throw unsupported(
      option,
      text,
      `the virt machine property ${key} is not supported`,
      `use ${option} virt`,
    );
  }
  return "virt";
}

const SMP_KEYS = new Set([
  "maxcpus",
  "sockets",
  "dies",
  "clusters",
  "cores",
  "threads",
  "books",
  "drawers",
]);

function parseSmp(option: string, text: string): 1 {
  const expected = "expected 1 or cpus=1";
  const { implied, props } = parseOptionList(option, text, "cpus", expected);
  const counts = implied === undefined ? [] : [implied];
  for (const [key, value] of props) {
    if (!SMP_KEYS.has(key)) {
      throw invalidValue(
        option,
        text,
        `unknown property "${key}"; ${expected}`,
      );
    }
    counts.push(value);
  }
  for (const count of counts) {
    if (!/^\d+$/.test(count)) throw invalidValue(option, text, expected);
  }
  if (counts.some((count) => Number(count) !== 1)) {
    throw unsupported(
      option,
      text,
      "deja emulates one hart",
      `use ${option} 1`,
    );
  }
  return 1;
}

function parseSerial(option: string, text: string): SerialConfig {
  switch (text) {
    case "stdio":
      return { kind: "stdio" };
    case "mon:stdio":
      return { kind: "mon:stdio" };
    case "null":
      return { kind: "null" };
    case "":
      throw invalidValue(option, text, SERIAL_EXPECTED);
  }
  if (text.startsWith("file:")) {
    const path = text.slice("file:".length);
    if (path === "") throw invalidValue(option, text, "file: needs a PATH");
    return { kind: "file", path };
  }
  if (text.startsWith("tcp:")) return parseTcpSerial(option, text);
  if (text === "none") {
    throw unsupported(
      option,
      text,
      "the virt machine always has its UART",
      `use ${option} null to discard its output`,
    );
  }
  throw unsupported(
    option,
    text,
    "deja supports stdio, mon:stdio, null, file:PATH and tcp:HOST:PORT,server backends",
    `use ${option} stdio`,
  );
}

/** `tcp:[HOST]:PORT,server[=on][,nowait|wait=off]`, QEMU's syntax. */
function parseTcpSerial(option: string, text: string): SerialConfig {
  const [addr = "", ...flags] = text.slice("tcp:".length).split(",");
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(addr);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw invalidValue(
      option,
      text,
      "expected tcp:HOST:PORT,server,nowait, such as tcp:127.0.0.1:4444,server,nowait",
    );
  }
  const host = m[1] === "" ? "127.0.0.1" : m[1]!.replace(/^\[|\]$/g, "");
  let server = false, wait = true;
  for (const f of flags) {
    const [k, v = "on"] = f.split("=");
    const on = v === "on" || v === "true" || v === "yes";
    if (k === "server") server = on;
    else if (k === "nowait") wait = false;
    else if (k === "wait") wait = on;
    else {
      throw invalidValue(
        option,
        text,
        `"${f}" is not a tcp option; expected server, nowait or wait=on|off`,
      );
    }
  }
  if (!server) {
    throw unsupported(
      option,
      text,
      "deja's tcp backend listens; it does not connect out",
      `add ,server (and ,nowait to start without a client): ${option} ${text},server,nowait`,
    );
  }
  return { kind: "tcp", host, port, wait };
}

/**
 * Splits a `-gdb` address into the host and port to listen on. An empty host
 * (as in `tcp::1234`) means 127.0.0.1: deja does not expose its gdbstub to
 * other machines unless asked to.
 *
 * @param spec The address, such as `tcp::1234` or `tcp:[::1]:1234`.
 * @returns The host name and port.
 * @throws {UsageError} When `spec` is not a TCP address.
 *
 * @example Split an address
 * ```ts
 * import { gdbListenAddress } from "./args.ts";
 * const { hostname, port } = gdbListenAddress("tcp::1234");
 * if (hostname !== "127.0.0.1" || port !== 1234) throw new Error("unreachable");
 * ```
 */
export function gdbListenAddress(
  spec: string,
): { hostname: string; port: number } {
  const match = /^tcp:(\[[0-9a-fA-F:.]+\]|[^:\[\],]*):(\d{1,5})$/.exec(spec);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port < 1 || port > 65535) {
    if (match === null && !spec.startsWith("tcp:")) {
      throw unsupported(
        "-gdb",
        spec,
        "deja's gdbstub listens only on TCP",
        "use -gdb tcp::1234",
      );
    }
    throw invalidValue("-gdb", spec, GDB_EXPECTED);
  }
  const host = match[1]!;
  return { hostname: host === "" ? "127.0.0.1" : host, port };
}

function parseIcount(option: string, text: string): IcountConfig {
  const expected =
    "expected [shift=]N|auto[,sleep=on|off][,rr=record|replay,rrfile=FILE]";
  const { implied, props } = parseOptionList(option, text, "shift", expected);
  let shift: number | "auto" = 3;
  if (implied !== undefined) {
    if (implied === "auto") {
      shift = "auto";
    } else if (/^\d+$/.test(implied) && Number(implied) <= 10) {
      shift = Number(implied);
    } else {
      throw invalidValue(
        option,
        text,
        "shift must be an integer from 0 to 10 or auto",
      );
    }
  }
  let sleep = true;
  let rr: "record" | "replay" | undefined;
  let rrfile: string | undefined;
  let rrsnapshot: string | undefined;
  let rrcheck: number | undefined;
  for (const [key, value] of props) {
    switch (key) {
      case "sleep":
        sleep = parseBoolean(option, text, key, value);
        break;
      case "align":
        if (parseBoolean(option, text, key, value)) {
          throw unsupported(
            option,
            text,
            "deja does not align guest time to host time",
            "remove align=on",
          );
        }
        break;
      case "rr":
        if (value !== "record" && value !== "replay") {
          throw invalidValue(option, text, "rr must be record or replay");
        }
        rr = value;
        break;
      case "rrfile":
        if (value === "") throw invalidValue(option, text, "rrfile is empty");
        rrfile = value;
        break;
      case "rrsnapshot":
        if (value === "") {
          throw invalidValue(option, text, "rrsnapshot is empty");
        }
        rrsnapshot = value;
        break;
      case "rrcheck":
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
          throw invalidValue(
            option,
            text,
            "rrcheck must be a whole number of instructions",
          );
        }
        rrcheck = Number(value);
        break;
      default:
        throw invalidValue(
          option,
          text,
          `unknown property "${key}"; expected shift, sleep, rr, rrfile, rrsnapshot or rrcheck`,
        );
    }
  }
  if (shift === "auto" && !sleep) {
    throw invalidValue(
      option,
      text,
      "shift=auto and sleep=off are incompatible",
    );
  }
  if (rr !== undefined && rrfile === undefined) {
    throw invalidValue(option, text, `rr=${rr} needs rrfile=FILE`);
  }
  if (rr === undefined) {
    const orphan = rrfile !== undefined
      ? "rrfile"
      : rrsnapshot !== undefined
      ? "rrsnapshot"
      : rrcheck !== undefined
      ? "rrcheck"
      : undefined;
    if (orphan !== undefined) {
      throw invalidValue(
        option,
        text,
        `${orphan} needs rr=record or rr=replay`,
      );
    }
  }
  return {
    shift,
    sleep,
    ...(rr === undefined ? {} : { rr }),
    ...(rrfile === undefined ? {} : { rrfile }),
    ...(rrsnapshot === undefined ? {} : { rrsnapshot }),
    ...(rrcheck === undefined ? {} : { rrcheck }),
  };
}

function parseDevice(option: string, text: string): DeviceConfig | "help" {
  const expected = "expected DRIVER[,KEY=VALUE...]";
  const { implied, props } = parseOptionList(option, text, "driver", expected);
  if (implied === "help" || implied === "?") return "help";
  if (implied === undefined || implied === "") {
    throw invalidValue(option, text, `no driver; ${expected}`);
  }
  return { driver: implied, props: Object.fromEntries(props) };
}

const DRIVE_EXPECTED =
  "expected file=IMAGE,format=raw|qcow2,if=none,id=ID[,snapshot=on][,readonly=on] or driver=blkreplay,if=none,image=ID,id=ID2";

function parseDrive(option: string, text: string): DriveConfig {
  const { implied, props } = parseOptionList(
    option,
    text,
    "file",
    DRIVE_EXPECTED,
  );
  const take = (key: string) => {
    const v = props.get(key);
    props.delete(key);
    return v;
  };
  const driver = take("driver");
  const iface = take("if") ?? "none";
  if (iface !== "none") {
    throw unsupported(
      option,
      text,
      `deja attaches drives only as virtio-blk devices, not if=${iface}`,
      "use if=none,id=ID with -device virtio-blk-device,drive=ID",
    );
  }
  const id = take("id");
  if (id === undefined || id === "") {
    throw invalidValue(
      option,
      text,
      "no id=; give the drive an id and attach it with -device virtio-blk-device,drive=ID",
    );
  }
  const format = take("format") ?? "raw";
  if (format !== "raw" && format !== "qcow2") {
    throw unsupported(
      option,
      text,
      `deja reads raw and qcow2 images, not format=${format}`,
      "convert the image with qemu-img convert -O qcow2 (or -O raw)",
    );
  }
  const flag = (key: string) => {
    const v = take(key);
    return v === undefined ? false : parseBoolean(option, text, key, v);
  };
  const readonly = flag("readonly");
  const snapshot = flag("snapshot");
  const image = take("image");
  take("media"); // media=disk is the only kind
  const cache = take("cache");
  void cache; // writes complete at the request either way
  for (const key of props.keys()) {
    throw invalidValue(
      option,
      text,
      `unknown drive property ${key}; ${DRIVE_EXPECTED}`,
    );
  }
  if (driver === "blkreplay") {
    if (image === undefined || implied !== undefined) {
      throw invalidValue(
        option,
        text,
        "driver=blkreplay takes image=ID (the id of a -drive with the file), not file=",
      );
    }
    return { id, format, readonly, snapshot, image };
  }
  if (driver !== undefined && driver !== "file" && driver !== format) {
    throw unsupported(
      option,
      text,
      `deja has no block driver ${driver}`,
      "use file=IMAGE,format=raw|qcow2, or driver=blkreplay,image=ID",
    );
  }
  if (implied === undefined || implied === "") {
    throw invalidValue(option, text, `no file=; ${DRIVE_EXPECTED}`);
  }
  return { id, file: implied, format, readonly, snapshot };
}

const NETDEV_EXPECTED =
  "expected user,id=ID[,tftp=DIR][,hostfwd=tcp:HOST:HPORT-:GPORT], socket,id=ID,listen=|connect=HOST:PORT or stream,id=ID,server=on|off,addr.type=inet,addr.host=HOST,addr.port=PORT";

function parseNetdev(option: string, text: string): NetdevConfig {
  const { implied, props } = parseOptionList(
    option,
    text,
    "type",
    NETDEV_EXPECTED,
  );
  if (implied !== "user" && implied !== "socket" && implied !== "stream") {
    throw unsupported(
      option,
      text,
      `deja's network backends are user (a built-in network with DHCP, ARP, ICMP echo and TFTP), socket and stream (frames over TCP to another deja or QEMU), not ${
        implied ?? "none"
      }`,
      "use -netdev user,id=ID[,tftp=DIR] or -netdev socket,id=ID,listen=127.0.0.1:PORT",
    );
  }
  const id = props.get("id");
  if (id === undefined || id === "") {
    throw invalidValue(option, text, `no id=; ${NETDEV_EXPECTED}`);
  }
  if (implied === "socket") {
    return {
      id,
      type: "socket",
      socket: parseSocketNetdev(option, text, props),
    };
  }
  if (implied === "stream") {
    return {
      id,
      type: "socket",
      socket: parseStreamNetdev(option, text, props),
    };
  }
  const tftp = props.get("tftp");
  // hostfwd= may be given more than once.
  const hostfwd = splitItems(text).filter((i) => i.startsWith("hostfwd="))
    .map((i) => parseHostForward(option, text, i.slice("hostfwd=".length)));
  for (const key of props.keys()) {
    if (key !== "id" && key !== "tftp" && key !== "hostfwd") {
      throw unsupported(
        option,
        text,
        `deja's user network has no ${key}= (it has DHCP, ARP, ICMP echo to 10.0.2.2, TFTP and TCP hostfwd)`,
        "leave it out",
      );
    }
  }
  return {
    id,
    type: "user",
    ...(tftp !== undefined ? { tftp } : {}),
    ...(hostfwd.length > 0 ? { hostfwd } : {}),
  };
}

/** `tcp:[HOST]:HPORT-[GUESTADDR]:GPORT`, QEMU's hostfwd= rule. */
function parseHostForward(
  option: string,
  text: string,
  rule: string,
): HostForward {
  const expected =
    "expected hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT (or -10.0.2.15:GUESTPORT)";
  if (rule.startsWith("udp:")) {
    throw unsupported(
      option,
      text,
      "deja's user network forwards TCP only",
      "use hostfwd=tcp:...",
    );
  }
  const m = /^(?:tcp)?:([^:]*):(\d{1,5})-([^:]*):(\d{1,5})$/.exec(rule);
  const hostPort = m ? Number(m[2]) : NaN, guestPort = m ? Number(m[4]) : NaN;
  if (
    !m || !(hostPort >= 1 && hostPort <= 65535) ||
    !(guestPort >= 1 && guestPort <= 65535)
  ) {
    throw invalidValue(option, text, `hostfwd=${rule}: ${expected}`);
  }
  if (m[3] !== "" && m[3] !== "10.0.2.15") {
    throw invalidValue(
      option,
      text,
      `hostfwd=${rule}: the guest's address is 10.0.2.15 (or leave it empty)`,
    );
  }
  return { hostname: m[1] || "127.0.0.1", hostPort, guestPort };
}

/** `-netdev socket,id=ID,listen=[HOST]:PORT` or `connect=HOST:PORT`. */
function parseSocketNetdev(
  option: string,
  text: string,
  props: Map<string, string>,
): NetdevSocket {
  const expected =
    "expected socket,id=ID,listen=127.0.0.1:PORT or socket,id=ID,connect=127.0.0.1:PORT";
  for (const key of props.keys()) {
    if (key !== "id" && key !== "listen" && key !== "connect") {
      throw unsupported(
        option,
        text,
        `deja's socket netdev has no ${key}= (it carries frames over one TCP stream; no mcast=, udp= or fd=)`,
        expected.replace("expected ", "use "),
      );
    }
  }
  const listen = props.get("listen"), connect = props.get("connect");
  if ((listen === undefined) === (connect === undefined)) {
    throw invalidValue(
      option,
      text,
      `give one of listen= and connect=; ${expected}`,
    );
  }
  const mode = listen !== undefined ? "listen" : "connect";
  const addr = (listen ?? connect)!;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]*):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535) || (mode === "connect" && !m[1])) {
    throw invalidValue(
      option,
      text,
      `${mode}=${addr} is not HOST:PORT with a port from 1 to 65535; ${expected}`,
    );
  }
  const host = m[1]!.replace(/^\[|\]$/g, "");
  return { mode, hostname: host === "" ? "127.0.0.1" : host, port };
}

/**
 * QEMU 7.2's `-netdev stream,id=ID,server=on|off,addr.type=inet,
 * addr.host=HOST,addr.port=PORT`.
 */
function parseStreamNetdev(
  option: string,
  text: string,
  props: Map<string, string>,
): NetdevSocket {
  const expected =
    "expected stream,id=ID,server=on|off,addr.type=inet,addr.host=127.0.0.1,addr.port=PORT";
  const known = ["id", "server", "addr.type", "addr.host", "addr.port"];
  for (const key of props.keys()) {
    if (!known.includes(key)) {
      throw unsupported(
        option,
        text,
        `deja's stream netdev has no ${key}= (it takes server=, addr.type=inet, addr.host= and addr.port=)`,
        expected.replace("expected ", "use "),
      );
    }
  }
  const type = props.get("addr.type");
  if (type !== "inet") {
    throw unsupported(
      option,
      text,
      type === undefined
        ? "a stream netdev needs addr.type=inet"
        : `deja's stream netdev connects over TCP only (addr.type=inet), not ${type}`,
      expected.replace("expected ", "use "),
    );
  }
  const server = parseBoolean(
    option,
    text,
    "server",
    props.get("server") ?? "off",
  );
  const host = props.get("addr.host");
  const portText = props.get("addr.port") ?? "";
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (host === undefined || host === "" || !(port >= 1 && port <= 65535)) {
    throw invalidValue(
      option,
      text,
      `addr.host= and addr.port= (1 to 65535) are needed; ${expected}`,
    );
  }
  return {
    mode: server ? "listen" : "connect",
    hostname: host.replace(/^\[|\]$/g, ""),
    port,
  };
}

function parseMac(option: string, text: string, mac: string): number[] {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw invalidValue(
      option,
      text,
      `mac=${mac} is not six hex bytes such as 52:54:00:12:34:56`,
    );
  }
  const bytes = parts.map((p) => parseInt(p, 16));
  if (bytes[0]! & 1) {
    throw invalidValue(
      option,
      text,
      `mac=${mac} is a multicast address; use one whose first byte is even`,
    );
  }
  return bytes;
}

/** Resolve the `-device virtio-*` requests against the drives. */
function resolveVirtio(state: ParseState): void {
  const drives = new Map(state.config.drives.map((d) => [d.id, d]));
  const used = new Set<string>();
  for (const { option, text, device } of state.virtio) {
    const { driver, props } = device;
    const extra = (allowed: string[]) => {
      for (const key of Object.keys(props)) {
        if (!allowed.includes(key)) {
          throw invalidValue(
            option,
            text,
            `${driver} has no property ${key}${
              allowed.length ? `; it takes ${allowed.join(", ")}` : ""
            }`,
          );
        }
      }
    };
    if (driver === "virtio-rng-device") {
      extra([]);
      state.config.virtio.push({ kind: "rng" });
      continue;
    }
    if (driver === "virtio-net-device") {
      extra(["netdev", "mac"]);
      const id = props.netdev;
      const netdev = state.config.netdevs.find((n) => n.id === id);
      if (id === undefined || !netdev) {
        throw invalidValue(
          option,
          text,
          id === undefined
            ? "no netdev=; add netdev=ID naming a -netdev user,id=ID"
            : `there is no -netdev with id=${id}; add -netdev user,id=${id}`,
        );
      }
      state.config.virtio.push({
        kind: "net",
        netdev,
        ...(props.mac !== undefined
          ? { mac: parseMac(option, text, props.mac) }
          : {}),
      });
      continue;
    }
    if (driver !== "virtio-blk-device") {
      throw unsupported(
        option,
        text,
        `deja has no ${driver}; its virtio devices are virtio-blk-device, virtio-net-device and virtio-rng-device`,
        "leave it out",
      );
    }
    extra(["drive"]);
    let id = props.drive;
    if (id === undefined) {
      throw invalidValue(
        option,
        text,
        "no drive=; add drive=ID naming a -drive ...,id=ID",
      );
    }
    // Follow blkreplay drives to the drive with the file.
    let drive = drives.get(id);
    const seen = new Set<string>();
    while (drive?.image !== undefined && !seen.has(drive.id)) {
      seen.add(drive.id);
      id = drive.image;
      drive = drives.get(id);
    }
    if (!drive || drive.file === undefined) {
      throw invalidValue(
        option,
        text,
        `there is no -drive with id=${id}; add -drive file=IMAGE,if=none,id=${id}`,
      );
    }
    if (used.has(drive.id)) {
      throw invalidValue(
        option,
        text,
        `drive ${drive.id} is attached to another device already`,
      );
    }
    used.add(drive.id);
    state.config.virtio.push({
      kind: "blk",
      drive: { ...drive, file: drive.file },
    });
  }
  if (state.config.virtio.length > 8) {
    throw new UsageError(
      `Too many virtio devices: ${state.config.virtio.length}; the virt board has 8 virtio-mmio slots`,
    );
  }
}

function parsePlugin(option: string, text: string): PluginConfig {
  const expected = "expected PATH[,KEY=VALUE...]";
  const { implied, props } = parseOptionList(option, text, "file", expected);
  if (implied === undefined || implied === "") {
    throw invalidValue(option, text, `no plugin path; ${expected}`);
  }
  return { path: implied, props: Object.fromEntries(props) };
}

/** The mutable state of one parse. */
interface ParseState {
  config: MachineConfig;
  serialGiven: boolean;
  /** `-device virtio-*` requests, resolved against the drives at the end. */
  virtio: { option: string; text: string; device: DeviceConfig }[];
}

/** How an option is parsed. */
interface OptionSpec {
  /** What the value looks like, for "Missing value" messages. */
  expected?: string;
  /** Applies the option; a returned command ends the parse. */
  apply(state: ParseState, option: string, value: string): Command | undefined;
}

function fileOption(
  key: "kernel" | "initrd" | "dtb",
): OptionSpec {
  return {
    expected: FILE_EXPECTED,
    apply(state, option, value) {
      if (value === "") throw invalidValue(option, value, FILE_EXPECTED);
      state.config[key] = value;
      return undefined;
    },
  };
}

function flag(apply: (config: MachineConfig) => Command | void): OptionSpec {
  return {
    apply(state) {
      const command = apply(state.config);
      return command === undefined ? undefined : command;
    },
  };
}

const machineOption: OptionSpec = {
  expected: "expected virt",
  apply(_state, option, value) {
    return parseMachine(option, value) === "help"
      ? { kind: "help", text: MACHINE_HELP }
      : undefined;
  },
};

const helpOption: OptionSpec = flag(() => ({ kind: "help", text: helpText() }));

const OPTIONS: ReadonlyMap<string, OptionSpec> = new Map<string, OptionSpec>([
  ["h", helpOption],
  ["help", helpOption],
  ["version", flag(() => ({ kind: "version" }))],
  ["M", machineOption],
  ["machine", machineOption],
  ["cpu", {
    expected: "expected rv64",
    apply(_state, option, value) {
      if (value === "help" || value === "?") {
        return { kind: "help", text: CPU_HELP };
      }
      if (value !== "rv64") {
        throw unsupported(
          option,
          value,
          "deja emulates one rv64gc hart without CPU properties",
          `use ${option} rv64`,
        );
      }
      return undefined;
    },
  }],
  ["smp", {
    expected: "expected 1",
    apply(state, option, value) {
      state.config.smp = parseSmp(option, value);
      return undefined;
    },
  }],
  ["m", {
    expected: SIZE_EXAMPLE,
    apply(state, option, value) {
      state.config.memoryBytes = parseMemory(option, value);
      return undefined;
    },
  }],
  ["bios", {
    expected: "expected a file name, none or default",
    apply(state, option, value) {
      if (value === "") {
        throw invalidValue(
          option,
          value,
          "expected a file name, none or default",
        );
      }
      state.config.bios = value;
      return undefined;
    },
  }],
  ["kernel", fileOption("kernel")],
  ["initrd", fileOption("initrd")],
  ["dtb", fileOption("dtb")],
  ["append", {
    expected: "expected a kernel command line",
    apply(state, _option, value) {
      state.config.append = value;
      return undefined;
    },
  }],
  [
    "no-reboot",
    flag((config) => {
      config.noReboot = true;
    }),
  ],
  [
    "nographic",
    flag((config) => {
      config.nographic = true;
    }),
  ],
  ["display", {
    expected: "expected none",
    apply(_state, option, value) {
      if (value !== "none") {
        throw unsupported(
          option,
          value,
          "deja has no graphical display",
          `use ${option} none or -nographic`,
        );
      }
      return undefined;
    },
  }],
  ["monitor", {
    expected: "expected none",
    apply(_state, option, value) {
      if (value !== "none") {
        throw unsupported(
          option,
          value,
          "deja's monitor is on the console (C-a c with -nographic)",
          `use ${option} none`,
        );
      }
      return undefined;
    },
  }],
  ["serial", {
    expected: SERIAL_EXPECTED,
    apply(state, option, value) {
      if (state.serialGiven) {
        throw unsupported(
          option,
          value,
          "the virt machine has one UART and -serial was already given",
          "give -serial once",
        );
      }
      state.config.serial = parseSerial(option, value);
      state.serialGiven = true;
      return undefined;
    },
  }],
  ["net", noNetwork()],
  ["nic", noNetwork()],
  [
    "S",
    flag((config) => {
      config.startPaused = true;
    }),
  ],
  [
    "s",
    flag((config) => {
      config.gdb = "tcp::1234";
    }),
  ],
  ["gdb", {
    expected: GDB_EXPECTED,
    apply(state, _option, value) {
      if (value === "none") {
        delete state.config.gdb;
      } else {
        gdbListenAddress(value);
        state.config.gdb = value;
      }
      return undefined;
    },
  }],
  ["qmp", {
    expected: QMP_EXPECTED,
    apply(state, option, value) {
      try {
        state.config.qmp = parseQmpAddress(value);
      } catch (err) {
        throw invalidValue(
          option,
          value,
          err instanceof Error ? err.message : String(err),
        );
      }
      return undefined;
    },
  }],
  ["icount", {
    expected: "expected a shift such as 3, or shift=N,rr=record,rrfile=FILE",
    apply(state, option, value) {
      state.config.icount = parseIcount(option, value);
      return undefined;
    },
  }],
  ["device", {
    expected: "expected DRIVER[,KEY=VALUE...]",
    apply(state, option, value) {
      const device = parseDevice(option, value);
      if (device === "help") return { kind: "help", text: DEVICE_HELP };
      if (device.driver.startsWith("virtio-")) {
        state.virtio.push({ option, text: value, device });
      } else state.config.devices.push(device);
      return undefined;
    },
  }],
  ["netdev", {
    expected: NETDEV_EXPECTED,
    apply(state, option, value) {
      const netdev = parseNetdev(option, value);
      if (state.config.netdevs.some((d) => d.id === netdev.id)) {
        throw invalidValue(
          option,
          value,
          `a netdev with id=${netdev.id} is given already; give each -netdev its own id`,
        );
      }
      state.config.netdevs.push(netdev);
      return undefined;
    },
  }],
  ["drive", {
    expected: DRIVE_EXPECTED,
    apply(state, option, value) {
      const drive = parseDrive(option, value);
      if (state.config.drives.some((d) => d.id === drive.id)) {
        throw invalidValue(
          option,
          value,
          `a drive with id=${drive.id} is given already; give each -drive its own id`,
        );
      }
      state.config.drives.push(drive);
      return undefined;
    },
  }],
  ["plugin", {
    expected: "expected PATH[,KEY=VALUE...]",
    apply(state, option, value) {
      state.config.plugins.push(parsePlugin(option, value));
      return undefined;
    },
  }],
]);

function noNetwork(): OptionSpec {
  return {
    expected: "expected none",
    apply(_state, option, value) {
      if (value !== "none") {
        throw unsupported(
          option,
          value,
          "deja has no network device",
          `use ${option} none or leave it out`,
        );
      }
      return undefined;
    },
  };
}

/** QEMU options that deja knows of but does not implement. */
const QEMU_ONLY_OPTIONS = new Set([
  "accel",
  "audiodev",
  "blockdev",
  "boot",
  "cdrom",
  "chardev",
  "D",
  "d",
  "daemonize",
  "echr",
  "enable-kvm",
  "fsdev",
  "fw_cfg",
  "global",
  "hda",
  "incoming",
  "k",
  "L",
  "loadvm",
  "mon",
  "name",
  "no-shutdown",
  "numa",
  "object",
  "parallel",
  "pidfile",
  "rtc",
  "semihosting",
  "semihosting-config",
  "snapshot",
  "trace",
  "usb",
  "vga",
  "virtfs",
  "vnc",
]);

function parseDump(argv: readonly string[]): Command {
  const files: string[] = [];
  let qemuOut: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "-help" || arg === "--help") {
      return { kind: "help", text: DUMP_HELP };
    }
    if (arg === "--qemu" || arg === "-qemu") {
      const out = argv[++i];
      if (out === undefined || out === "") {
        throw new UsageError(
          "Missing argument for dump --qemu: usage: dump --qemu OUT FILE",
        );
      }
      qemuOut = out;
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(
        `Unknown option for dump: ${arg}; run dump --help for its usage`,
      );
    }
    files.push(arg);
  }
  if (files.length === 0) {
    throw new UsageError("Missing argument for dump: usage: dump FILE");
  }
  if (files.length > 1) {
    throw new UsageError(
      `Unexpected argument for dump: ${
        JSON.stringify(files[1])
      }; dump takes one FILE`,
    );
  }
  return qemuOut === undefined
    ? { kind: "dump", file: files[0]! }
    : { kind: "dump", file: files[0]!, qemuOut };
}

function defaultConfig(): MachineConfig {
  return {
    machine: "virt",
    memoryBytes: DEFAULT_MEMORY_BYTES,
    bios: "default",
    serial: { kind: "stdio" },
    nographic: false,
    noReboot: false,
    smp: 1,
    startPaused: false,
    icount: { shift: 3, sleep: true },
    devices: [],
    plugins: [],
    drives: [],
    netdevs: [],
    virtio: [],
    net: "none",
  };
}

/**
 * Parses deja's command line (the arguments after the script name, as in
 * `Deno.args`).
 *
 * A first argument `dump` selects the dump subcommand. Otherwise the
 * arguments are QEMU-style options, processed in order: `-h` and `-version`
 * (and `-M help`, `-cpu help`, `-device help`) end the parse there, as in
 * QEMU. Without `-serial`, `-nographic` connects the UART to `mon:stdio`,
 * like QEMU; otherwise it is `stdio`.
 *
 * @param argv The arguments.
 * @returns What to do.
 * @throws {UsageError} When an option is unknown, unsupported, or has an
 * invalid value.
 *
 * @example Parse a QEMU command line
 * ```ts
 * import { parseCommandLine } from "./args.ts";
 * const command = parseCommandLine([
 *   "-M", "virt", "-m", "256M", "-bios", "fw_jump.elf",
 *   "-kernel", "u-boot.bin", "-nographic",
 * ]);
 * if (command.kind !== "run") throw new Error("unreachable");
 * console.log(command.config.memoryBytes); // 268435456
 * console.log(command.config.serial); // { kind: "mon:stdio" }
 * ```
 */
export function parseCommandLine(argv: readonly string[]): Command {
  if (argv[0] === "dump") return parseDump(argv.slice(1));
  const state: ParseState = {
    config: defaultConfig(),
    serialGiven: false,
    virtio: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      throw new UsageError(
        `Unexpected argument: ${
          JSON.stringify(arg)
        }; pass files with an option such as -kernel, and run with --help to list the options`,
      );
    }
    const dashes = arg.startsWith("--") ? "--" : "-";
    const body = arg.slice(dashes.length);
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    const option = dashes + name;
    const spec = OPTIONS.get(name);
    if (spec === undefined) {
      if (QEMU_ONLY_OPTIONS.has(name)) {
        throw new UsageError(
          `Unsupported option: ${option}: deja does not implement it; run with --help to list the options`,
        );
      }
      throw new UsageError(
        `Unknown option: ${option}; run with --help to list the options`,
      );
    }
    let value = "";
    if (spec.expected === undefined) {
      if (inline !== undefined) {
        throw new UsageError(
          `Unexpected value for ${option}: ${
            JSON.stringify(inline)
          }; the option takes no value`,
        );
      }
    } else if (inline !== undefined) {
      value = inline;
    } else if (i + 1 < argv.length) {
      value = argv[++i]!;
    } else {
      throw new UsageError(`Missing value for ${option}: ${spec.expected}`);
    }
    const command = spec.apply(state, option, value);
    if (command !== undefined) return command;
  }
  resolveVirtio(state);
  const { config } = state;
  if (config.kernel === undefined) {
    const orphan = config.append !== undefined && config.append !== ""
      ? "-append"
      : config.initrd !== undefined
      ? "-initrd"
      : config.dtb !== undefined
      ? "-dtb"
      : undefined;
    if (orphan !== undefined) {
      throw new UsageError(
        `Invalid use of ${orphan}: it needs -kernel; add -kernel FILE or remove ${orphan}`,
      );
    }
  }
  if (!state.serialGiven && config.nographic) {
    config.serial = { kind: "mon:stdio" };
  }
  return { kind: "run", config };
}

const MACHINE_HELP = `Supported machines are:
virt                 RISC-V VirtIO board (default)
`;

const CPU_HELP = `Available CPUs:
rv64                 RV64GC hart (default)
`;

const DEVICE_HELP =
  `-device DRIVER[,KEY=VALUE...] adds a device to the virt machine.
DRIVER is the name of a registered device plugin, or the path or URL of a
device plugin module (such as ./my_device.ts) that deja imports; the
KEY=VALUE properties are passed to the plugin. The virt machine's own
devices are always present and need no -device.

virtio devices (in the virtio-mmio slots, the first at 0x10008000 as on QEMU):
virtio-blk-device,drive=ID   a disk; ID names a -drive ...,if=none,id=ID
virtio-rng-device            an entropy source (recorded and replayed)
virtio-net-device,netdev=ID[,mac=52:54:00:12:34:56]
                             a network card on a -netdev (user, socket
                             or stream) with id=ID
`;

const DUMP_HELP = `usage: deno run --allow-read=FILE mod.ts dump FILE
       deno run --allow-read=FILE --allow-write=OUT mod.ts dump --qemu OUT FILE

Prints the contents of a deja file, such as an -icount rrfile, in a readable
form: every event with its absolute instruction count.

--qemu OUT   also write to OUT a copy of the log that QEMU's own
             scripts/replay-dump.py reads to the end: the standard events at
             the same instruction counts, deja's serial input as
             EVENT_ASYNC_CHAR_READ, and deja's own events (configuration,
             state hashes, exit status, plugin events) left out
`;

/**
 * Returns the text that `-h` prints: the supported options, grouped as in
 * QEMU's help, and the Deno permission flags that they need.
 *
 * @returns The help text, ending in a newline.
 *
 * @example Print the help
 * ```ts
 * import { helpText } from "./args.ts";
 * console.log(helpText());
 * ```
 */
export function helpText(): string {
  return `deja: a RISC-V system emulator for Deno that takes QEMU's options
usage: deno run [PERMISSIONS] mod.ts [OPTIONS]
       deno run [PERMISSIONS] mod.ts dump FILE

Options are spelled as in QEMU (-opt VALUE); --opt VALUE and -opt=VALUE
work too. A repeated option replaces the earlier one, except -device and
-plugin, which add up.

Standard options:
-h or -help          display this help and exit
-version             display version information and exit
-machine [type=]virt select the emulated machine; virt is the only one
                     (-M is a synonym; -M help lists the machines)
-cpu rv64            select the CPU model; rv64 (RV64GC) is the only one
-smp [cpus=]1        set the number of harts; deja emulates one
-m [size=]megs[K|M|G]
                     set guest RAM; a number without a suffix counts MiB
                     (default 128M, at most 2047M, a multiple of 4K)

Boot options:
-bios FILE|none|default
                     load FILE as the firmware, or none; default is
                     ${DEFAULT_BIOS_PATH}
-kernel FILE         load FILE as the kernel
-append CMDLINE      pass CMDLINE as the kernel command line (needs -kernel)
-initrd FILE         load FILE as the initial RAM disk (needs -kernel)
-dtb FILE            use FILE as the device tree instead of the generated
                     one (needs -kernel)
-no-reboot           exit instead of rebooting

Display and serial console:
-nographic           no graphical output; unless -serial is given, the
                     serial console is mon:stdio (Ctrl-A h lists the keys)
-display none        no graphical output (the only display)
-serial stdio|mon:stdio|null|file:PATH|tcp:HOST:PORT,server[,nowait]
                     connect the serial console to the terminal, the
                     terminal with Ctrl-A escapes, nothing, a file, or a
                     TCP server (needs --allow-net=HOST; default stdio)
-monitor none        no separate monitor (the only choice; the monitor is
                     on the console: C-a c with -serial mon:stdio or
                     -nographic, and on stdin in a replay)

Network options:
-net none, -nic none no network (the only choice)

Device and plugin options:
-device DRIVER[,KEY=VALUE...]
                     add a device; DRIVER is a device plugin name or the
                     path of a plugin module, or virtio-blk-device,drive=ID
                     or virtio-rng-device (-device help for more)
-drive file=IMAGE,format=raw|qcow2,if=none,id=ID[,snapshot=on][,readonly=on]
                     a disk image for -device virtio-blk-device,drive=ID;
                     snapshot=on keeps writes in memory (as record and replay
                     always do: the image stays unchanged)
-netdev user,id=ID[,tftp=DIR][,hostfwd=tcp:[HOST]:HPORT-:GPORT]
                     a built-in network for -device virtio-net-device,
                     netdev=ID: DHCP (10.0.2.15), ARP and ping of the gateway
                     10.0.2.2, TFTP of DIR, host port HPORT forwarded to guest
                     port GPORT (needs --allow-net=HOST:HPORT); off in a
                     replay (frames come from the log)
-netdev socket,id=ID,listen=[HOST]:PORT|connect=HOST:PORT
-netdev stream,id=ID,server=on|off,addr.type=inet,addr.host=HOST,addr.port=PORT
                     frames over TCP to another deja or QEMU (QEMU's framing;
                     needs --allow-net=HOST:PORT); no socket in a replay
-drive driver=blkreplay,if=none,image=ID,id=ID2
                     QEMU's record/replay wrapper, accepted (deja's disks
                     are replay-safe without it)
-plugin PATH[,KEY=VALUE...]
                     load the plugin module at PATH with KEY=VALUE arguments

Debug options:
-S                   start stopped; the monitor's cont starts the CPU
-s                   shorthand for -gdb tcp::1234
-gdb tcp:[HOST]:PORT wait for a gdb connection on HOST:PORT (HOST defaults
                     to 127.0.0.1); -gdb none turns it off
-qmp tcp:[HOST]:PORT,server,wait=off | unix:PATH,server,wait=off
                     QMP (QEMU's JSON control protocol) on HOST:PORT or PATH

Record and replay:
-icount [shift=]N|auto[,sleep=on|off][,rr=record|replay,rrfile=FILE
        [,rrsnapshot=NAME][,rrcheck=N]]
                     count instructions: guest time advances 2^N ns per
                     instruction (N from 0 to 10, default 3); with sleep=on
                     (the default) the host sleeps when the guest is idle;
                     rr=record writes the nondeterministic inputs to FILE
                     and rr=replay replays them from it; rrcheck=N checks
                     the replay every N instructions

Subcommands:
dump FILE            print a deja file, such as an rrfile, in readable form

Deno permissions:
deja never prompts for a permission; it names the missing flags and exits.
--allow-read=FILE,...   the -bios (or the default firmware), -kernel,
                        -initrd, -dtb, -device and -plugin files, and the
                        rrfile with rr=replay
--allow-write=FILE,...  the -serial file:PATH and the rrfile with rr=record
--allow-net=127.0.0.1:PORT
                        the -gdb or -s port
--allow-env=DEJA_DEBUG  optional: DEJA_DEBUG=1 prints stack traces
For example:
  deno run --allow-read=fw_jump.elf,u-boot.bin mod.ts -M virt -m 256M \\
    -bios fw_jump.elf -kernel u-boot.bin -nographic

Ctrl-A escapes on mon:stdio (and -nographic):
C-a h  print the escapes   C-a x  exit deja
C-a b  send a break        C-a C-a  send C-a
`;
}
