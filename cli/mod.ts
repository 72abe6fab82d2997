/**
 * deja's command-line interface: parsing QEMU-style options into a
 * {@linkcode MachineConfig}, checking the Deno permissions that it needs,
 * reporting fatal errors, and the serial console's terminal handling.
 *
 * @example Run a command line
 * ```ts
 * import {
 *   checkPermissions,
 *   helpText,
 *   parseCommandLine,
 *   printError,
 * } from "./mod.ts";
 *
 * try {
 *   const command = parseCommandLine(["-M", "virt", "-bios", "none"]);
 *   if (command.kind === "help") console.log(command.text);
 *   else if (command.kind === "run") await checkPermissions(command.config);
 *   console.log(helpText().split("\n")[0]);
 * } catch (err) {
 *   printError(err);
 * }
 * ```
 *
 * @module
 */

export * from "./args.ts";
export * from "./error.ts";
export * from "./permissions.ts";
export * from "./terminal.ts";
export type { QmpListenOptions } from "./qmp.ts";
