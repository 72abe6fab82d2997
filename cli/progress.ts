/**
 * A progress line on the terminal (stderr) for a seek or replay step that
 * takes more than a second: `seeking to 123456789: 45%`, rewritten in place
 * and cleared at the end. Nothing when stderr is not a terminal.
 *
 * @example A reporter with a fake clock
 * ```ts
 * import { progressLine } from "./progress.ts";
 * let t = 0;
 * let shown = "";
 * const report = progressLine({ write: (s) => (shown = s), now: () => t });
 * report({ from: 0, at: 0, target: 100, done: false });
 * t = 1500;
 * report({ from: 0, at: 45, target: 100, done: false });
 * console.log(JSON.stringify(shown)); // "\r\u001b[Kseeking to 100: 45%"
 * ```
 *
 * @module
 */

import type { TimeTravelProgress } from "../replay/time_travel.ts";

/** Where the progress line goes, and the clock (for tests). */
export interface ProgressOptions {
  /** Write to the terminal. */
  write: (text: string) => void;
  /** Milliseconds now. */
  now?: () => number;
  /** Show it after this long (ms). */
  delayMs?: number;
}

/**
 * A progress reporter for {@linkcode TimeTravelOptions.onProgress}.
 *
 * @param options where it writes, and the clock
 * @returns the reporter
 */
export function progressLine(
  options: ProgressOptions,
): (p: TimeTravelProgress) => void {
  const now = options.now ?? (() => performance.now());
  const delay = options.delayMs ?? 1000;
  let started = -1, shown = false, last = -1;
  return (p) => {
    const t = now();
    if (p.done) {
      if (shown) options.write("\r\x1b[K");
      started = -1;
      shown = false;
      return;
    }
    if (started < 0) started = t;
    if (t - started < delay || t - last < 100) return;
    last = t;
    shown = true;
    const span = p.target - p.from;
    const pct = span > 0 ? Math.floor((100 * (p.at - p.from)) / span) : 100;
    options.write(`\r\x1b[Kseeking to ${p.target}: ${pct}%`);
  };
}

/**
 * The reporter for this process: on stderr when it is a terminal.
 *
 * @returns the reporter, or undefined
 */
export function terminalProgress():
  | ((p: TimeTravelProgress) => void)
  | undefined {
  let tty = false;
  try {
    tty = Deno.stderr.isTerminal();
  } catch { /* no stderr */ }
  if (!tty) return undefined;
  const enc = new TextEncoder();
  return progressLine({
    write: (text) => {
      try {
        Deno.stderr.writeSync(enc.encode(text));
      } catch { /* the terminal is gone */ }
    },
  });
}
