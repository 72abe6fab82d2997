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
