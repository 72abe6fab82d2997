// Test helper: run the `deja` command (mod.ts) as a user does, in a real
// `deno run` subprocess with the permission flags the test gives.

/** The checkout's root, without a trailing slash. */
export const ROOT = new URL("../", import.meta.url).pathname.replace(
  /\/$/,
  "",
);

/** The bundled demo guest (examples/guest/demo.elf). */
export const DEMO = `${ROOT}/examples/guest/demo.elf`;

/** What a finished run printed, and its exit code. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `deno run FLAGS mod.ts ARGS`, not started yet. */
export function dejaCommand(
  flags: string[],
  args: string[],
  stdin: "null" | "piped",
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${ROOT}/mod.ts`, ...args],
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** Run deja to its end, with `stdin` piped in (or no stdin), as text. */
export async function deja(
  flags: string[],
  args: string[],
  stdin?: string,
): Promise<Result> {
  const child = dejaCommand(
    flags,
    args,
    stdin === undefined ? "null" : "piped",
  ).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** A running deja: its stdout as it comes, and its stdin to type on. */
export interface DejaSession {
  /** What deja printed on stdout so far. */
  readonly stdout: string;
  /**
   * Wait until stdout after offset `from` shows `what` (a guest's prompt,
   * say), and return stdout's length then. If deja ends first, or after
   * `timeoutMs`, kill it and throw with what it printed.
   */
  waitFor(
    what: string | RegExp,
    from?: number,
    timeoutMs?: number,
  ): Promise<number>;
  /** Type `text` on deja's stdin. */
  write(text: string): Promise<void>;
  /** Close stdin and wait for deja to end. */
  finish(): Promise<Result>;
}

/**
 * Start deja with piped stdin, to type on once it shows it is ready
 * (instead of after fixed delays, which a loaded machine outruns).
 */
export function spawnDeja(flags: string[], args: string[]): DejaSession {
  const child = dejaCommand(flags, args, "piped").spawn();
  const writer = child.stdin.getWriter();
  const dec = new TextDecoder();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  let ended = false;
  let waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters) w();
    waiters = [];
  };
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      stdout += dec.decode(chunk, { stream: true });
      wake();
    }
    ended = true;
    wake();
  })();
  return {
    get stdout() {
      return stdout;
    },
    async waitFor(what, from = 0, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      const seen = () =>
        typeof what === "string"
          ? stdout.slice(from).includes(what)
          : what.test(stdout.slice(from));
      while (!seen()) {
        const left = end - Date.now();
        if (ended || left <= 0) {
          if (!ended) child.kill();
          throw new Error(
            `deja ${
              ended ? "ended" : `waited ${timeoutMs} ms`
            } without printing ${what}; it printed:\n${stdout.slice(from)}`,
          );
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((r) => {
          waiters.push(r);
          timer = setTimeout(r, left);
        });
        clearTimeout(timer);
      }
      return stdout.length;
    },
    write: (text) => writer.write(new TextEncoder().encode(text)),
    async finish() {
      await writer.close().catch(() => {});
      const status = await child.status;
      await reading;
      return { code: status.code, stdout, stderr: await stderr };
    },
  };
}
