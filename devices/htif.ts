/**
 * HTIF, the host-target interface of Spike and QEMU's `spike` machine: the
 * guest talks to the host through two 64-bit words in its own RAM, `tohost`
 * and `fromhost`, found by their ELF symbols.
 *
 * Reference: riscv-software-src/riscv-isa-sim `fesvr/htif.cc` and
 * `fesvr/syscall.cc` (the protocol), riscv-tests `env/p/riscv_test.h` (how
 * tests report), and QEMU's `hw/char/riscv_htif.c`. A `tohost` value is
 * `device << 56 | command << 48 | payload` (48 bits):
 *
 * - device 0, command 0, payload with bit 0 set: exit with code
 *   `payload >> 1` (0 is a pass; riscv-tests put the failing test number
 *   there).
 * - device 0, command 0, payload with bit 0 clear: a system call; the payload
 *   points at `magic_mem`, eight 64-bit words holding the call number and its
 *   arguments. Only `write` (64) to fd 1 is served: its bytes go to the
 *   serial output, `magic_mem[0]` receives the byte count, and `fromhost`
 *   becomes 1.
 * - device 1, command 1: write the low byte of the payload to the console
 *   (`fromhost` gets the echo QEMU gives).
 *
 * Anything else ends the run with exit code {@linkcode HTIF_ERROR_CODE} and
 * a message in {@linkcode Htif.error}.
 *
 * How deja sees the writes: `tohost` lives in RAM, where the CPU's fast path
 * stores without any hook, and watching every store would slow the hot loop
 * for every guest. Instead the board polls: {@linkcode Htif.poll} reads the
 * word after each CPU slice, and while HTIF is active the board keeps its
 * slices short (10,000 instructions), so a guest that writes `tohost` and
 * then spins stops within that many instructions. A guest without `tohost`
 * pays nothing. The flip side: the guest runs on for up to one slice after
 * its write (riscv-tests spin in a loop there, so nothing it does is lost),
 * and a guest that writes `tohost` twice within one slice shows only the
 * second value.
 *
 * Left out: the console's input command (device 1, command 0), block
 * devices, and every system call but `write`.
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";

/** The exit code of a run that HTIF ended because of an unsupported request. */
export const HTIF_ERROR_CODE = 255;

/** Options for {@linkcode Htif}. */
export interface HtifOptions {
  /** The bus that holds guest RAM. */
  bus: Bus;
  /** Physical address of the 64-bit `tohost` word (must be in RAM). */
  tohost: number;
  /**
   * Physical address of the 64-bit `fromhost` word, if the guest has one.
   *
   * @default {undefined}
   */
  fromhost?: number;
  /**
   * Where console and `write` output goes.
   *
   * @default {() => {}}
   */
  output?: (bytes: Uint8Array) => void;
}

/** What a {@linkcode Htif.poll} found. */
export type HtifPoll =
  | { kind: "none" }
  | { kind: "exit"; code: number };

const SYS_WRITE = 64n;
const PAYLOAD_MASK = (1n << 48n) - 1n;

/**
 * The HTIF watcher of one machine.
 *
 * @example A guest that wrote the pass value to tohost
 * ```ts
 * import { Bus } from "../core/bus.ts";
 * import { Htif } from "./htif.ts";
 * const bus = new Bus(1 << 20);
 * const htif = new Htif({ bus, tohost: 0x8000_1000 });
 * if (htif.poll().kind !== "none") throw new Error("unreachable");
 * bus.write(0x8000_1000, 4, 1); // (0 << 1) | 1
 * const r = htif.poll();
 * if (r.kind !== "exit" || r.code !== 0) throw new Error("unreachable");
 * ```
 */
export class Htif {
  /** Physical address of `tohost`. */
  readonly tohost: number;
  /** Physical address of `fromhost`, or undefined. */
  readonly fromhost: number | undefined;
  /** Why the last run ended with {@linkcode HTIF_ERROR_CODE}, if it did. */
  error: string | undefined;
  readonly #bus: Bus;
  readonly #output: (bytes: Uint8Array) => void;
  readonly #tmp = new Int32Array(2);

  /**
   * Watch `tohost` (and `fromhost`) in RAM.
   *
   * @param options the bus, the two addresses and the output callback
   * @throws {RangeError} if `tohost` or `fromhost` is not 8 bytes of RAM
   */
  constructor(options: HtifOptions) {
    const { bus } = options;
    for (
      const [name, addr] of [
        ["tohost", options.tohost],
        ["fromhost", options.fromhost],
      ] as const
    ) {
      if (addr !== undefined && !bus.inRam(addr, 8)) {
        throw new RangeError(
          `Cannot use HTIF: ${name} at 0x${addr.toString(16)} is not in RAM`,
        );
      }
    }
    this.#bus = bus;
    this.tohost = options.tohost;
    this.fromhost = options.fromhost;
    this.#output = options.output ?? (() => {});
  }

  /**
   * Make the watcher for an ELF image's symbols, if it defines `tohost` in
   * RAM.
   *
   * @param symbols the image's symbol table
   * @param options the bus and the output callback
   * @returns the watcher, or undefined when the image has no usable `tohost`
   * @example No tohost, no HTIF
   * ```ts
   * import { Bus } from "../core/bus.ts";
   * import { Htif } from "./htif.ts";
   * const htif = Htif.fromSymbols(new Map(), { bus: new Bus(4096) });
   * if (htif !== undefined) throw new Error("unreachable");
   * ```
   */
  static fromSymbols(
    symbols: ReadonlyMap<string, number>,
    options: Omit<HtifOptions, "tohost" | "fromhost">,
  ): Htif | undefined {
    const tohost = symbols.get("tohost");
    if (tohost === undefined || !options.bus.inRam(tohost, 8)) return undefined;
    const fromhost = symbols.get("fromhost");
    return new Htif({
      ...options,
      tohost,
      ...(fromhost !== undefined && options.bus.inRam(fromhost, 8)
        ? { fromhost }
        : {}),
    });
  }

  /**
   * Look at `tohost` and serve what the guest asked for.
   *
   * @returns `exit` with the code when the guest asked to stop (or made a
   * request HTIF cannot serve), otherwise `none`
   */
  poll(): HtifPoll {
    const v = this.#read64(this.tohost);
    if (v === 0n) return { kind: "none" };
    const device = Number(v >> 56n);
    const command = Number((v >> 48n) & 0xffn);
    const payload = v & PAYLOAD_MASK;
    if (device === 0 && command === 0) {
      if (payload & 1n) {
        this.#write64(this.tohost, 0n);
        return { kind: "exit", code: Number(payload >> 1n) };
      }
      return this.#syscall(payload);
    }
    if (device === 1 && command === 1) {
      this.#output(Uint8Array.of(Number(payload & 0xffn)));
      this.#respond(v, 0x100n | (payload & 0xffn));
      return { kind: "none" };
    }
    return this.#fail(
      `device ${device} command ${command} is not supported (tohost 0x${
        v.toString(16)
      })`,
    );
  }

  #syscall(addr: bigint): HtifPoll {
    const base = Number(addr);
    if (!this.#bus.inRam(base, 32)) {
      return this.#fail(`magic_mem at 0x${addr.toString(16)} is not in RAM`);
    }
    const which = this.#read64(base);
    const fd = this.#read64(base + 8);
    const buf = this.#read64(base + 16);
    const len = this.#read64(base + 24);
    if (which !== SYS_WRITE || fd !== 1n) {
      return this.#fail(
        `system call ${which} (fd ${fd}) is not supported; only write to fd 1 is`,
      );
    }
    if (!this.#bus.inRam(Number(buf), Number(len))) {
      return this.#fail(
        `write of ${len} bytes at 0x${buf.toString(16)} is not in RAM`,
      );
    }
    const off = Number(buf) - this.#bus.ramBase;
    this.#output(this.#bus.ram8.slice(off, off + Number(len)));
    this.#write64(base, len);
    this.#respond(0n, 1n);
    return { kind: "none" };
  }

  /** Clear `tohost` and post a response in `fromhost`. */
  #respond(request: bigint, value: bigint): void {
    this.#write64(this.tohost, 0n);
    if (this.fromhost !== undefined) {
      this.#write64(this.fromhost, ((request >> 48n) << 48n) | value);
    }
  }

  #fail(message: string): HtifPoll {
    this.error = `HTIF: ${message}`;
    this.#write64(this.tohost, 0n);
    return { kind: "exit", code: HTIF_ERROR_CODE };
  }

  #read64(addr: number): bigint {
    this.#bus.read64(addr, this.#tmp);
    return (BigInt(this.#tmp[1]! >>> 0) << 32n) | BigInt(this.#tmp[0]! >>> 0);
  }

  #write64(addr: number, v: bigint): void {
    this.#bus.write64(
      addr,
      Number(BigInt.asIntN(32, v)),
      Number(BigInt.asIntN(32, v >> 32n)),
    );
  }
}
