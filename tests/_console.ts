// Test helper: drive a VirtMachine through its serial console in process,
// with instruction budgets instead of wall-clock timeouts, through the one
// run loop (replay/runner.ts; idle time jumps to the next deadline).

import type {
  RunResult,
  VirtMachine,
  VirtMachineOptions,
} from "../devices/virt.ts";
import { Runner } from "../replay/runner.ts";
import type { InputContext } from "../replay/session.ts";

/** A machine with its serial output captured as text. */
export class Console {
  readonly runner: Runner;
  readonly machine: VirtMachine;
  /** Everything the guest printed. */
  text = "";
  #mark = 0;
  last: RunResult | undefined;

  constructor(options: Omit<VirtMachineOptions, "output" | "events">) {
    const dec = new TextDecoder();
    this.runner = new Runner({
      machine: {
        ...options,
        output: (b) => {
          this.text += dec.decode(b, { stream: true });
        },
      },
      warpIdle: true,
    });
    this.machine = this.runner.machine;
  }

  /** Output since the last `expect` or `send`. */
  get recent(): string {
    return this.text.slice(this.#mark);
  }

  /**
   * Run until the output since the last mark matches `pattern`, or throw
   * after `maxInsns` instructions or when the guest exits.
   */
  expect(pattern: string | RegExp, maxInsns = 2e9): string {
    const hit = () =>
      typeof pattern === "string"
        ? this.recent.includes(pattern)
        : pattern.test(this.recent);
    const start = this.machine.cpu.icount;
    while (!hit()) {
      if (this.machine.cpu.icount - start > maxInsns) {
        throw new Error(
          `Console did not print ${pattern} within ${maxInsns} instructions; it printed:\n${this.recent}`,
        );
      }
      const r = this.runner.run(1_000_000);
      this.last = r;
      if (
        r.kind === "exit" || (r.kind === "idle" && r.deadlineNs === Infinity)
      ) {
        if (hit()) break;
        throw new Error(
          `Guest stopped (${
            JSON.stringify(r, big)
          }) before printing ${pattern}; it printed:\n${this.recent}`,
        );
      }
    }
    const out = this.recent;
    this.#mark = this.text.length;
    return out;
  }

  /** Type `text` on the console. */
  send(text: string): void {
    this.#mark = this.text.length;
    this.machine.sendInput(new TextEncoder().encode(text));
  }

  /** Run until the guest exits; returns the result. */
  runToExit(maxInsns = 2e9): RunResult {
    const start = this.machine.cpu.icount;
    for (;;) {
      const r = this.runner.run(1_000_000);
      this.last = r;
      if (r.kind === "exit") return r;
      if (r.kind === "idle" && r.deadlineNs === Infinity) return r;
      if (this.machine.cpu.icount - start > maxInsns) return r;
    }
  }
}

function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `0x${v.toString(16)}` : v;
}

/** Read a file, or fail with the Debian package that provides it. */
export function readFirmware(path: string, pkg: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (err) {
    throw new Error(
      `Cannot read ${path}: install the Debian package ${pkg} (apt-get install ${pkg})`,
      { cause: err },
    );
  }
}

/** CRC-32 (IEEE 802.3), as U-Boot's crc32 command computes it. */
export function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/**
 * Input for `record()` at a console: types each command once a new prompt
 * shows (by default U-Boot's `=> `, or its autoboot countdown).
 */
export function typist(
  commands: readonly string[],
  prompt: RegExp = /=> /g,
): (ctx: InputContext) => string | undefined {
  const todo = [...commands];
  let prompts = 0;
  return ({ output }) => {
    const seen = (output.match(prompt)?.length ?? 0) +
      (output.includes("Hit any key") ? 1 : 0);
    if (seen <= prompts || todo.length === 0) return undefined;
    prompts = seen;
    return todo.shift();
  };
}
