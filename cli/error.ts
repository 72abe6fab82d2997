/**
 * The one place where deja reports a fatal error: it prints the message and
 * its `cause` chain to stderr and chooses the exit code.
 *
 * @module
 */

import { UsageError } from "./args.ts";

/** Options for {@linkcode printError}. */
export interface PrintErrorOptions {
  /**
   * Writes the report. The default writes to stderr, with a red `error:` on
   * a color terminal.
   *
   * @default {writes to Deno.stderr}
   */
  write?: (text: string) => void;
  /**
   * Whether to set `Deno.exitCode` to the returned code.
   *
   * @default {true}
   */
  setExitCode?: boolean;
  /**
   * Whether to print stack traces. The default is whether the environment
   * variable `DEJA_DEBUG` is `1`, read only if `--allow-env` grants it.
   *
   * @default {DEJA_DEBUG === "1"}
   */
  debug?: boolean;
}

function debugFromEnv(): boolean {
  const status = Deno.permissions.querySync({
    name: "env",
    variable: "DEJA_DEBUG",
  });
  return status.state === "granted" && Deno.env.get("DEJA_DEBUG") === "1";
}

/** The path in a Deno I/O error message such as `... (os error 2): open 'x'`. */
function quotedPath(message: string): string | undefined {
  const match = /'([^']*)'\s*$/.exec(message);
  return match === null ? undefined : match[1];
}

/** A message that says what went wrong and what to do, for one error. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof Deno.errors.NotFound) {
    const path = quotedPath(err.message);
    return path === undefined
      ? `File not found: ${err.message}`
      : `File not found: ${path}; check the path given on the command line`;
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    const path = quotedPath(err.message);
    return path === undefined
      ? `Access denied by the operating system: ${err.message}`
      : `Access denied by the operating system: ${path}; check the file's mode and owner`;
  }
  if (err instanceof Deno.errors.NotCapable) {
    const match =
      /^Requires (\w+) access to "(.*)", run again with the (--allow-\w+) flag/
        .exec(err.message);
    if (match !== null) {
      const [, kind, target, flag] = match;
      return `Missing permission: ${kind} access to ${target}; add ${flag}=${target} to the deno run command`;
    }
  }
  return err.message === "" ? err.name : err.message;
}

function writeStderr(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stderr.writeSync(bytes.subarray(written));
  }
}

/**
 * Prints a fatal error to stderr and returns the exit code.
 *
 * The report is `error: <message>`, then one `  caused by: <message>` line
 * for each error in the `cause` chain. Deno's NotFound, PermissionDenied and
 * NotCapable errors are reworded to name the path and the fix; other errors
 * (including {@linkcode UsageError}, `PermissionError`,
 * `RangeError`, `TypeError` and `SyntaxError`) print their own message. Stack
 * traces are printed, after the chain, only when `DEJA_DEBUG=1`, which needs
 * `--allow-env=DEJA_DEBUG`; without that permission the variable is not read.
 *
 * @param err The error, or any thrown value.
 * @param options Where to write, and whether to set `Deno.exitCode`.
 * @returns 2 for a {@linkcode UsageError}, 1 otherwise.
 *
 * @example Report an error with its cause
 * ```ts
 * import { printError } from "./error.ts";
 * let report = "";
 * const code = printError(
 *   new Error("Cannot load the kernel", { cause: new RangeError("Image is too big") }),
 *   { write: (text) => report += text, setExitCode: false, debug: false },
 * );
 * console.log(report);
 * // error: Cannot load the kernel
 * //   caused by: Image is too big
 * console.log(code); // 1
 * ```
 */
export function printError(
  err: unknown,
  options: PrintErrorOptions = {},
): number {
  const color = options.write === undefined && !Deno.noColor &&
    Deno.stderr.isTerminal();
  const write = options.write ?? writeStderr;
  const debug = options.debug ?? debugFromEnv();
  const chain: unknown[] = [err];
  for (
    let cause = causeOf(err);
    cause !== undefined && !chain.includes(cause);
    cause = causeOf(cause)
  ) {
    chain.push(cause);
  }
  const label = color ? "\x1b[1;31merror\x1b[0m" : "error";
  let said = describe(err);
  const lines = [`${label}: ${said}`];
  for (const cause of chain.slice(1)) {
    // A wrapper that already quotes its cause (a plugin's error names the
    // plugin, then the cause's message) does not get it twice.
    const text = describe(cause);
    if (!said.includes(text)) lines.push(`  caused by: ${text}`);
    said = text;
  }
  if (debug) {
    for (const item of chain) {
      if (item instanceof Error && item.stack !== undefined) {
        lines.push("", item.stack);
      }
    }
  }
  write(lines.join("\n") + "\n");
  const code = err instanceof UsageError ? 2 : 1;
  if (options.setExitCode ?? true) Deno.exitCode = code;
  return code;
}

function causeOf(err: unknown): unknown {
  return err instanceof Error ? err.cause : undefined;
}
