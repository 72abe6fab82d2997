/**
 * The Deno permissions that a machine configuration needs, and a check that
 * reports every missing one at once, before the machine starts.
 *
 * deja never prompts: a prompt would stop the emulator half-way through the
 * boot, and its answer would not be recorded for replay. Instead
 * {@linkcode checkPermissions} names the exact flags to add to `deno run`.
 *
 * @module
 */

import { DEFAULT_BIOS_PATH, gdbListenAddress } from "./args.ts";
import type { MachineConfig } from "./args.ts";

/**
 * A permission that the configuration needs. It is a valid
 * `Deno.PermissionDescriptor`, plus the `reason`: the options that need it.
 */
export type RequiredPermission =
  | { name: "read"; path: string; reason: string }
  | { name: "write"; path: string; reason: string }
  | { name: "net"; host: string; reason: string }
  | { name: "import"; host: string; reason: string };

/**
 * Some permissions that deja needs are not granted. The message names every
 * missing one and the flags that grant them; {@linkcode missing} lists them.
 *
 * @example Inspect the missing permissions
 * ```ts
 * import { checkPermissions, PermissionError } from "./permissions.ts";
 * import { parseCommandLine } from "./args.ts";
 * const command = parseCommandLine(["-bios", "none", "-s"]);
 * if (command.kind !== "run") throw new Error("unreachable");
 * try {
 *   await checkPermissions(command.config);
 * } catch (err) {
 *   if (!(err instanceof PermissionError)) throw err;
 *   console.log(err.missing.map((p) => p.name)); // ["net"] without --allow-net
 * }
 * ```
 */
export class PermissionError extends Error {
  /** The permissions that are not granted. */
  readonly missing: readonly RequiredPermission[];

  /**
   * Creates the error, with a message built from `missing`.
   *
   * @param missing The permissions that are not granted; at least one.
   * @param options The standard error options, such as `cause`.
   */
  constructor(
    missing: readonly RequiredPermission[],
    options?: ErrorOptions,
  ) {
    super(missingMessage(missing), options);
    this.name = "PermissionError";
    this.missing = missing;
  }
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const BUILTIN_PLUGIN =
  /^(?:insn|hotblocks|execlog|mem)$|^(?:.*\/)?lib(?:insn|hotblocks|execlog|mem)\.so$/;
const MODULE_EXTENSION = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/** A module reference: a local file, a remote URL, or neither (jsr:, npm:). */
function moduleLocation(
  specifier: string,
): { path: string } | { host: string } | undefined {
  if (!URL_SCHEME.test(specifier)) return { path: specifier };
  let url: URL;
  try {
    url = new URL(specifier);
  } catch {
    return undefined;
  }
  if (url.protocol === "file:") {
    return { path: decodeURIComponent(url.pathname) };
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    return { host: url.host };
  }
  return undefined;
}

/** Whether a `-device` driver names a plugin module rather than a device. */
function isModuleSpecifier(driver: string): boolean {
  return driver.includes("/") || MODULE_EXTENSION.test(driver) ||
    URL_SCHEME.test(driver);
}

/**
 * Lists the permissions that running `config` needs:
 *
 * - read access to the `-bios` file ({@linkcode DEFAULT_BIOS_PATH} for
 *   `default`, nothing for `none`), the `-kernel`, `-initrd` and `-dtb`
 *   files, `-plugin` modules, `-device` drivers that are module paths,
 *   `file=` properties of `-device` (not in a replay, where the log holds
 *   the device's host data), and the rrfile with `rr=replay`;
 * - import access to the host of a plugin or device module given by an
 *   http(s) URL;
 * - write access to the `-serial file:PATH` file and the rrfile with
 *   `rr=record`;
 * - net access to the `-gdb` address (127.0.0.1 when it has no host) and
 *   to the address of each `-netdev socket` or `stream` and each
 *   `hostfwd=` host port (not in a replay).
 *
 * A path or host that several options need is listed once, with the reasons
 * joined.
 *
 * @param config The parsed configuration.
 * @returns The permissions, in command-line order.
 *
 * @example List the permissions of a command line
 * ```ts
 * import { requiredPermissions } from "./permissions.ts";
 * import { parseCommandLine } from "./args.ts";
 * const command = parseCommandLine(["-bios", "none", "-kernel", "Image", "-s"]);
 * if (command.kind !== "run") throw new Error("unreachable");
 * console.log(requiredPermissions(command.config));
 * // [
 * //   { name: "read", path: "Image", reason: "-kernel" },
 * //   { name: "net", host: "127.0.0.1:1234", reason: "-gdb" },
 * // ]
 * ```
 */
export function requiredPermissions(
  config: MachineConfig,
): RequiredPermission[] {
  const list: RequiredPermission[] = [];
  const add = (permission: RequiredPermission) => {
    const same = list.find((known) =>
      known.name === permission.name &&
      target(known) === target(permission)
    );
    if (same === undefined) list.push(permission);
    else if (!same.reason.split(", ").includes(permission.reason)) {
      same.reason += `, ${permission.reason}`;
    }
  };
  const addModule = (specifier: string, reason: string) => {
    const location = moduleLocation(specifier);
    if (location === undefined) return;
    if ("path" in location) add({ name: "read", path: location.path, reason });
    else add({ name: "import", host: location.host, reason });
  };

  if (config.bios === "default") {
    add({ name: "read", path: DEFAULT_BIOS_PATH, reason: "-bios default" });
  } else if (config.bios !== "none") {
    add({ name: "read", path: config.bios, reason: "-bios" });
  }
  for (const key of ["kernel", "initrd", "dtb"] as const) {
    const path = config[key];
    if (path !== undefined) add({ name: "read", path, reason: `-${key}` });
  }
  for (const device of config.devices) {
    if (isModuleSpecifier(device.driver)) addModule(device.driver, "-device");
    const file = device.props["file"];
    // A replay takes the device's host data from the log: no file needed.
    if (file !== undefined && config.icount.rr !== "replay") {
      add({ name: "read", path: file, reason: `-device ${device.driver}` });
    }
  }
  for (const v of config.virtio ?? []) {
    if (v.kind === "net") {
      const dir = v.netdev.tftp;
      // A replay's frames come from the log: the TFTP files are not read.
      if (dir !== undefined && config.icount.rr !== "replay") {
        add({ name: "read", path: dir, reason: "-netdev tftp=" });
      }
      // A socket netdev listens or connects (not in a replay).
      const s = v.netdev.socket;
      if (s !== undefined && config.icount.rr !== "replay") {
        const host = `${s.hostname}:${s.port}`;
        add({ name: "net", host, reason: `-netdev ${v.netdev.id}` });
      }
      // hostfwd= listens on the host port (not in a replay).
      for (const f of v.netdev.hostfwd ?? []) {
        if (config.icount.rr === "replay") break;
        const host = `${f.hostname}:${f.hostPort}`;
        add({ name: "net", host, reason: `-netdev ${v.netdev.id} hostfwd=` });
      }
      continue;
    }
    if (v.kind !== "blk") continue;
    const d = v.drive;
    add({ name: "read", path: d.file, reason: "-drive" });
    // Writes reach the file only in a plain run of a writable raw image.
    if (
      config.icount.rr === undefined && !d.readonly && !d.snapshot &&
      d.format === "raw"
    ) add({ name: "write", path: d.file, reason: "-drive" });
  }
  for (const plugin of config.plugins) {
    // Built-in instrumentation (-plugin insn, or QEMU's libinsn.so) needs
    // nothing; see plugins/loader.ts.
    if (!BUILTIN_PLUGIN.test(plugin.path)) addModule(plugin.path, "-plugin");
  }
  const { rr, rrfile } = config.icount;
  if (rrfile !== undefined && rr === "replay") {
    add({ name: "read", path: rrfile, reason: "-icount rr=replay" });
  } else if (rrfile !== undefined && rr === "record") {
    add({ name: "write", path: rrfile, reason: "-icount rr=record" });
  }
  if (rrfile !== undefined && config.icount.rrsnapshot !== undefined) {
    // LOG.snapshots/NAME.djsnap (replay/snapshot_file.ts)
    add({
      name: rr === "record" ? "write" : "read",
      path: `${rrfile}.snapshots`,
      reason: "-icount rrsnapshot",
    });
  }
  if (config.serial.kind === "file") {
    add({ name: "write", path: config.serial.path, reason: "-serial" });
  } else if (config.serial.kind === "tcp") {
    add({ name: "net", host: config.serial.host, reason: "-serial tcp" });
  }
  if (config.gdb !== undefined) {
    const { hostname, port } = gdbListenAddress(config.gdb);
    add({ name: "net", host: `${hostname}:${port}`, reason: "-gdb" });
  }
  return list;
}

function target(permission: RequiredPermission): string {
  return "path" in permission ? permission.path : permission.host;
}

function descriptor(permission: RequiredPermission): Deno.PermissionDescriptor {
  switch (permission.name) {
    case "read":
    case "write":
      return { name: permission.name, path: permission.path };
    case "net":
    case "import":
      return { name: permission.name, host: permission.host };
  }
}

/** Quotes a word for a POSIX shell, when it needs quoting. */
function shellQuote(word: string): string {
  if (/^[\w./:=,@%+-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Returns the `deno run` flags that grant `permissions`, one flag per
 * permission name (`--allow-read=a,b`), quoted for a POSIX shell. A path
 * that contains a comma cannot be listed in a flag, so its permission name
 * gets the flag without a list.
 *
 * @param permissions The permissions to grant.
 * @returns The flags, in the order `read`, `write`, `net`, `import`.
 *
 * @example Build the flags
 * ```ts
 * import { permissionFlags } from "./permissions.ts";
 * const flags = permissionFlags([
 *   { name: "read", path: "./u-boot.bin", reason: "-kernel" },
 *   { name: "read", path: "fw_jump.elf", reason: "-bios" },
 * ]);
 * console.log(flags); // ["--allow-read=./u-boot.bin,fw_jump.elf"]
 * ```
 */
export function permissionFlags(
  permissions: readonly RequiredPermission[],
): string[] {
  const flags: string[] = [];
  for (const name of ["read", "write", "net", "import"] as const) {
    const targets = permissions.filter((p) => p.name === name).map(target);
    if (targets.length === 0) continue;
    const flag = `--allow-${name}`;
    flags.push(
      targets.some((t) => t.includes(","))
        ? flag
        : shellQuote(`${flag}=${targets.join(",")}`),
    );
  }
  return flags;
}

function describe(permission: RequiredPermission): string {
  return `${permission.name} access to ${target(permission)}`;
}

function missingMessage(missing: readonly RequiredPermission[]): string {
  const items = missing.map(describe);
  const list = items.length === 1
    ? items[0]
    : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
  const noun = items.length === 1 ? "permission" : "permissions";
  return `Missing ${noun}: ${list}; add ${
    permissionFlags(missing).join(" ")
  } to the deno run command`;
}

/** Options for {@linkcode checkPermissions}. */
export interface CheckPermissionsOptions {
  /**
   * Queries one permission; it must not prompt.
   *
   * @default {Deno.permissions.query}
   */
  query?: (
    descriptor: Deno.PermissionDescriptor,
  ) => Promise<{ readonly state: Deno.PermissionState }>;
}

/**
 * Checks, without prompting, that every permission that `config` needs is
 * granted.
 *
 * @param config The parsed configuration.
 * @param options How to query the permissions.
 * @returns A promise that resolves when every permission is granted.
 * @throws {PermissionError} Naming every missing permission and the flags
 * that grant them.
 *
 * @example Check a configuration that needs nothing
 * ```ts
 * import { checkPermissions } from "./permissions.ts";
 * import { parseCommandLine } from "./args.ts";
 * const command = parseCommandLine(["-bios", "none"]);
 * if (command.kind !== "run") throw new Error("unreachable");
 * await checkPermissions(command.config);
 * ```
 */
export async function checkPermissions(
  config: MachineConfig,
  options: CheckPermissionsOptions = {},
): Promise<void> {
  await ensurePermissions(requiredPermissions(config), options);
}

/**
 * Checks, without prompting, that every listed permission is granted.
 *
 * @param required The permissions, with why each is needed.
 * @param options How to query the permissions.
 * @returns A promise that resolves when every permission is granted.
 * @throws {PermissionError} Naming every missing permission and the flags
 * that grant them.
 *
 * @example Check that a log may be read
 * ```ts
 * import { ensurePermissions, PermissionError } from "./permissions.ts";
 * try {
 *   await ensurePermissions([
 *     { name: "read", path: "/tmp/x.rr", reason: "dump reads the log" },
 *   ]);
 * } catch (err) {
 *   if (!(err instanceof PermissionError)) throw err;
 *   console.log(err.message); // names --allow-read=/tmp/x.rr
 * }
 * ```
 */
export async function ensurePermissions(
  required: readonly RequiredPermission[],
  options: CheckPermissionsOptions = {},
): Promise<void> {
  const query = options.query ??
    ((d: Deno.PermissionDescriptor) => Deno.permissions.query(d));
  const missing: RequiredPermission[] = [];
  for (const permission of required) {
    const status = await query(descriptor(permission));
    if (status.state !== "granted") missing.push(permission);
  }
  if (missing.length > 0) throw new PermissionError(missing);
}
