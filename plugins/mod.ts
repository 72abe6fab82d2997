/**
 * Plugins: the typed registry through which every device of the board is
 * created.
 *
 * @example Make a registry with the built-in devices
 * ```ts
 * import { builtinRegistry } from "../devices/builtin_plugins.ts";
 * const reg = builtinRegistry();
 * console.log(reg.names());
 * ```
 *
 * @module
 */

export * from "./registry.ts";
