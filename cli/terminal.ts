/**
 * The host terminal side of the serial console: QEMU's Ctrl-A escape keys
 * for `mon:stdio` (and `-nographic`), and raw mode for stdin.
 *
 * @module
 */

export { EscapeFilter } from "../plugins/escape_filter.ts";
export type { EscapeAction, EscapeResult } from "../plugins/escape_filter.ts";

/** The part of `Deno.stdin` that {@linkcode withRawStdin} uses. */
export interface RawModeStdin {
  /** Whether the stream is a terminal. */
  isTerminal(): boolean;
  /** Turns raw mode on or off. */
  setRaw(mode: boolean, options?: Deno.SetRawOptions): void;
}

/** Options for {@linkcode withRawStdin}. */
export interface WithRawStdinOptions {
  /**
   * The stdin to put in raw mode.
   *
   * @default {Deno.stdin}
   */
  stdin?: RawModeStdin;
}

/**
 * Runs `fn` with stdin in raw mode when stdin is a terminal, so that every
 * key (Ctrl-C included) reaches the guest. Raw mode is turned off when `fn`
 * settles, and on `unload` when the program calls `Deno.exit` inside `fn`.
 * When stdin is not a terminal, `fn` simply runs.
 *
 * @typeParam T The result of `fn`.
 * @param fn The code to run, such as the emulator's main loop.
 * @param options The stdin to use.
 * @returns What `fn` returns.
 *
 * @example Run the console loop
 * ```ts
 * import { withRawStdin } from "./terminal.ts";
 * const result = await withRawStdin(() => "done");
 * console.log(result); // "done"
 * ```
 */
export async function withRawStdin<T>(
  fn: () => T | Promise<T>,
  options: WithRawStdinOptions = {},
): Promise<T> {
  const stdin = options.stdin ?? Deno.stdin;
  if (!stdin.isTerminal()) return await fn();
  stdin.setRaw(true, { cbreak: false });
  let raw = true;
  const restore = () => {
    if (!raw) return;
    raw = false;
    stdin.setRaw(false);
  };
  globalThis.addEventListener("unload", restore);
  try {
    return await fn();
  } finally {
    globalThis.removeEventListener("unload", restore);
    restore();
  }
}
