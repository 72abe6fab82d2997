/**
 * The QEMU side of the lockstep tester: `qemu-system-riscv64 -M virt -bios
 * none -icount shift=0,sleep=off -S -gdb ...` driven through our own GDB remote
 * protocol client, reading the same state as {@linkcode readDejaState}.
 *
 * Register numbers come from QEMU's target description: x0..x31 and the pc
 * from `org.gnu.gdb.riscv.cpu`, f0..f31 from `...fpu`, `priv` from
 * `...virtual`, and CSRs from `...csr`. QEMU 7.2 numbers CSR `n` as
 * `base + n` but lists only some of them (not `fcsr`), so `fcsr` is read at
 * `sstatus`'s number minus 0x100 plus 3.
 *
 * @module
 */

import { GdbClient, GdbConnectionClosedError, hexToLe } from "./gdb_client.ts";
import type { RegisterInfo } from "./gdb_client.ts";
import { F_NAMES } from "../../core/disasm.ts";
import { CSR0, CSR_NAMES, F0, FCSR, PC, PRIV, X1 } from "./state.ts";
import type { ArchState } from "./state.ts";

/** Options for {@linkcode QemuTarget.start}. */
export interface QemuOptions {
  /** RAM size in MiB (`-m`). */
  memoryMiB: number;
  /**
   * The QEMU binary.
   *
   * @default {"qemu-system-riscv64"}
   */
  qemu?: string;
}

const ALL_FP = Array.from({ length: 32 }, (_, i) => i);

/** How a step of QEMU ended. */
export type QemuStep = { kind: "stopped" } | { kind: "exited"; code: number };

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A QEMU process stopped at the reset vector, under our control. */
export class QemuTarget {
  readonly #child: Deno.ChildProcess;
  readonly #gdb: GdbClient;
  readonly #fp: string[];
  readonly #csrs: string[];
  readonly #base: string[];
  /** The target description's registers. */
  readonly registers: readonly RegisterInfo[];

  private constructor(
    child: Deno.ChildProcess,
    gdb: GdbClient,
    registers: RegisterInfo[],
  ) {
    this.#child = child;
    this.#gdb = gdb;
    this.registers = registers;
    const num = (name: string): number => {
      const r = registers.find((r) => r.name === name);
      if (!r) {
        throw new Error(
          `QEMU's GDB target description has no register ${name}; this QEMU is not the one the lockstep tester knows (Debian's qemu-system-misc 7.2)`,
        );
      }
      return r.regnum;
    };
    const csrBase = num("sstatus") - 0x100;
    const p = (n: number) => `p${n.toString(16)}`;
    this.#base = ["g", p(num("priv")), p(csrBase + 3)];
    this.#fp = F_NAMES.map((n) => p(num(n)));
    this.#csrs = CSR_NAMES.map((n) => p(num(n)));
  }

  /**
   * Start QEMU on an ELF, stopped before its first instruction.
   *
   * @param elfPath the kernel ELF
   * @param options RAM size and QEMU binary
   * @returns the target
   */
  static async start(
    elfPath: string,
    options: QemuOptions,
  ): Promise<QemuTarget> {
    const qemu = options.qemu ?? "qemu-system-riscv64";
    const port = freePort();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(qemu, {
        args: [
          "-M",
          "virt",
          // deja has no hypervisor extension; QEMU 7.2's default CPU does.
          "-cpu",
          "rv64,h=false",
          "-bios",
          "none",
          "-m",
          `${options.memoryMiB}M`,
          "-icount",
          "shift=0,sleep=off",
          "-S",
          "-gdb",
          `tcp:127.0.0.1:${port}`,
          "-display",
          "none",
          "-serial",
          "null",
          "-monitor",
          "none",
          "-kernel",
          elfPath,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error(
          `Cannot run ${qemu}: it is not installed. Install Debian's qemu-system-misc (deno task setup does).`,
        );
      }
      throw err;
    }
    let gdb: GdbClient;
    try {
      gdb = await GdbClient.connect(port, { timeoutMs: 10_000 });
    } catch (err) {
      child.kill();
      const out = await child.output();
      throw new Error(
        `QEMU did not start its GDB stub: ${(err as Error).message}\n${
          new TextDecoder().decode(out.stderr)
        }`,
      );
    }
    const regs = await gdb.targetDescription();
    // Single steps take interrupts and run timers, as normal execution does.
    const ss = await gdb.command("Qqemu.sstep=1");
    if (ss !== "OK") {
      child.kill();
      throw new Error(`QEMU refused Qqemu.sstep=1: ${ss}`);
    }
    return new QemuTarget(child, gdb, regs);
  }

  /** The GDB client (for packet logging). */
  get gdb(): GdbClient {
    return this.#gdb;
  }

  /**
   * Read the compared state into `out`: the pc, x1..x31, the privilege
   * level and `fcsr` always; the FP registers in `fp` (all by default);
   * the CSRs when `csrs` is set (the default). What is not read keeps its
   * value in `out`. A register that QEMU refuses to read (QEMU 7.2 applies
   * `mstatus.TVM` to the debugger's `satp` read in S-mode) also keeps its
   * value, and its index is returned.
   *
   * @param out where to put it
   * @param fp which FP registers to read
   * @param csrs whether to read the CSRs
   * @returns the indexes that could not be read
   */
  async readState(
    out: ArchState,
    fp: readonly number[] | "all" = "all",
    csrs = true,
  ): Promise<number[]> {
    const fps = fp === "all" ? ALL_FP : fp;
    const packets = [...this.#base];
    for (const i of fps) packets.push(this.#fp[i]!);
    if (csrs) packets.push(...this.#csrs);
    const r = await this.#gdb.pipeline(packets);
    const g = r[0]!;
    if (g.length < 16 * 33) throw new Error(`QEMU's g reply is short: ${g}`);
    for (let i = 1; i < 32; i++) {
      out[X1 + i - 1] = hexToLe(g.slice(16 * i, 16 * i + 16));
    }
    out[PC] = hexToLe(g.slice(16 * 32, 16 * 33));
    const unreadable: number[] = [];
    const set = (index: number, reply: string) => {
      if (reply === "" || /^E[0-9a-fA-F]{2}$/.test(reply)) {
        unreadable.push(index);
      } else out[index] = hexToLe(reply);
    };
    set(PRIV, r[1]!);
    set(FCSR, r[2]!);
    let k = 3;
    for (const i of fps) set(F0 + i, r[k++]!);
    if (csrs) {
      for (let i = 0; i < CSR_NAMES.length; i++) set(CSR0 + i, r[k++]!);
    }
    return unreadable;
  }

  /**
   * Execute one instruction (or take one trap or interrupt).
   *
   * @returns whether QEMU stopped or the guest ended it
   */
  async step(): Promise<QemuStep> {
    let reply: string;
    try {
      reply = await this.#gdb.step();
    } catch (err) {
      if (err instanceof GdbConnectionClosedError) {
        return { kind: "exited", code: err.exitCode ?? await this.#status() };
      }
      throw err;
    }
    if (reply.startsWith("W") || reply.startsWith("X")) {
      return { kind: "exited", code: parseInt(reply.slice(1, 3), 16) };
    }
    if (!reply.startsWith("T") && !reply.startsWith("S")) {
      throw new Error(`QEMU answered a step with ${reply}`);
    }
    return { kind: "stopped" };
  }

  /**
   * Run to the point `occ[occ.length - 1]` instructions ahead on a path
   * that arrives at `endPc` at the positions `occ` (ascending, counted from
   * 1): a breakpoint there, continued once per arrival (and stepped off
   * where the target sits on it); short runs are single-stepped.
   *
   * @param endPc where the run ends
   * @param occ the positions where the path arrives at `endPc`
   * @param startsThere whether the target sits at `endPc` now
   * @param timeoutMs how long one continue may take before the run is
   *   given up (the target's path left the one planned)
   * @returns whether QEMU stopped there or the guest ended it
   * @throws {Error} when the target did not reach `endPc` in time
   */
  async runTo(
    endPc: bigint,
    occ: readonly number[],
    startsThere: boolean,
    timeoutMs = 30_000,
  ): Promise<QemuStep> {
    const n = occ[occ.length - 1]!;
    if (n <= 2) {
      for (let i = 0; i < n; i++) {
        const s = await this.step();
        if (s.kind === "exited") return s;
      }
      return { kind: "stopped" };
    }
    await this.#gdb.insertBreakpoint(endPc);
    let pos = 0, at = startsThere;
    for (const t of occ) {
      if (at) {
        const s = await this.step();
        if (s.kind === "exited") return s;
        if (++pos === t) continue;
      }
      const s = await this.#cont(endPc, timeoutMs);
      if (s.kind === "exited") return s;
      pos = t;
      at = true;
    }
    await this.#gdb.removeBreakpoint(endPc);
    return { kind: "stopped" };
  }

  async #cont(endPc: bigint, timeoutMs: number): Promise<QemuStep> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let late = false;
    const reply = this.#gdb.cont();
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        late = true;
        resolve();
      }, timeoutMs);
    });
    let r: string | void;
    try {
      r = await Promise.race([reply, timeout]);
    } catch (err) {
      if (err instanceof GdbConnectionClosedError) {
        return { kind: "exited", code: err.exitCode ?? await this.#status() };
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (late) {
      await this.#gdb.interrupt();
      await reply.catch(() => "");
      throw new Error(
        `QEMU did not reach 0x${
          endPc.toString(16)
        } within ${timeoutMs} ms: its path left the one deja planned (run with --single to find where)`,
      );
    }
    if (r!.startsWith("W") || r!.startsWith("X")) {
      return { kind: "exited", code: parseInt(r!.slice(1, 3), 16) };
    }
    if (!r!.startsWith("T") && !r!.startsWith("S")) {
      throw new Error(`QEMU answered a continue with ${r}`);
    }
    return { kind: "stopped" };
  }

  async #status(): Promise<number> {
    return (await this.#child.status).code;
  }

  /**
   * Read the instruction at a virtual address (4 bytes, or 2 when only
   * those are readable).
   *
   * @param pc the address
   * @returns the instruction bits, or undefined when unreadable
   */
  async readInsn(pc: bigint): Promise<number | undefined> {
    for (const n of [4, 2]) {
      try {
        const b = await this.#gdb.readMemory(pc, n);
        if (b.length < 2) return undefined;
        let v = 0;
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8) | b[i]!;
        if ((v & 3) !== 3 || b.length === 4) return v >>> 0;
      } catch {
        // try fewer bytes
      }
    }
    return undefined;
  }

  /** Kill QEMU. */
  async close(): Promise<void> {
    this.#gdb.close();
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.output();
  }
}
