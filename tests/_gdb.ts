// Test helper: drive Debian's gdb-multiarch in batch mode against a GDB
// stub, with tests/guest/build/gdb_target.elf (built with -g) for symbols.

import { parseElf } from "../core/elf.ts";

/** The GDB stub tests' guest program. */
export const GDB_ELF: string =
  new URL("./guest/build/gdb_target.elf", import.meta.url).pathname;

const symbols = parseElf(Deno.readFileSync(GDB_ELF), "gdb_target").symbols;

/** The address of a symbol of {@linkcode GDB_ELF}. */
export function sym(name: string): number {
  const v = symbols.get(name);
  if (v === undefined) throw new Error(`gdb_target.elf has no ${name}`);
  return v;
}

/** `0x` and lowercase hex digits. */
export function hex(n: number | bigint): string {
  return "0x" + n.toString(16);
}

/**
 * Run gdb-multiarch in batch mode with `commands` after `target remote`;
 * what it printed (stdout then stderr). With `interruptAfterMs`, gdb gets a
 * SIGINT then (as Ctrl-C does), which it turns into a `0x03` to the stub.
 * `file` is the ELF with the symbols (GDB_ELF unless given; null for none).
 */
export async function runGdb(
  port: number,
  commands: string[],
  options: { interruptAfterMs?: number; file?: string | null } = {},
): Promise<string> {
  const args = [
    "-batch",
    "-nx",
    "-ex",
    "set architecture riscv:rv64",
    "-ex",
    `target remote 127.0.0.1:${port}`,
  ];
  for (const c of commands) args.push("-ex", c);
  const file = options.file === undefined ? GDB_ELF : options.file;
  if (file !== null) args.push(file);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("gdb-multiarch", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new Error(
      "Cannot run gdb-multiarch: install it with `apt-get install -y gdb-multiarch` (deno task setup does)",
      { cause: err },
    );
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (options.interruptAfterMs !== undefined) {
    timer = setTimeout(() => child.kill("SIGINT"), options.interruptAfterMs);
  }
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

/** The `$N = 0x...` values gdb printed, in order. */
export function printedHex(text: string): string[] {
  return [...text.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((m) => m[1]!);
}

/** A TCP port that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
