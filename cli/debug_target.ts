/**
 * The debugger's view of a machine: registers by GDB number, memory through
 * the hart's current translation, breakpoints and watchpoints, and a run
 * that stops at them. The GDB stub (`cli/gdb_stub.ts`) and the monitor's
 * debugging commands work through a {@linkcode DebugTarget}.
 *
 * Register numbers follow GDB's RISC-V numbering, which the target
 * description (`qXfer:features:read:target.xml`) states: `x0`-`x31` are 0-31,
 * `pc` is 32, `f0`-`f31` are 33-64, a CSR numbered `n` is `65 + n` (so
 * `fflags`, `frm` and `fcsr` are 66, 67 and 68), and `priv` is 4161.
 *
 * Nothing here changes the guest's timeline: breakpoints are checked
 * against the pc between instructions (the guest's memory is never patched),
 * watchpoints are checked by decoding each load and store before it runs,
 * and memory reads never touch a device (an MMIO read can have side effects,
 * which a replay would not see): only RAM and the boot ROM are readable.
 * Stopping and stepping run the same instructions at the same instruction
 * counts, so a recording made under a debugger replays like any other.
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";
import type { Cpu } from "../core/cpu.ts";
import { CSR, CSR_DEFS } from "../core/csr.ts";
import type { CsrDef } from "../core/csr.ts";
import {
  F_NAMES as CORE_F_NAMES,
  X_NAMES as CORE_X_NAMES,
} from "../core/disasm.ts";
import type { RunResult } from "../devices/virt.ts";

/** What a {@linkcode DebugTarget} needs from the machine. */
export interface DebugMachine {
  /** The hart. */
  readonly cpu: Cpu;
  /** The physical bus. */
  readonly bus: Bus;
  /**
   * Run up to `maxInsns` instructions (the board's run: timers, replay
   * events and device exits included).
   */
  run(maxInsns: number, options?: { warpIdle?: boolean }): RunResult;
}

/** GDB's number for `pc`. */
export const REG_PC = 32;
/** GDB's number for `f0`. */
export const REG_F0 = 33;
/** GDB's number for CSR 0 (a CSR `n` is `REG_CSR0 + n`). */
export const REG_CSR0 = 65;
/** GDB's number for the virtual `priv` register. */
export const REG_PRIV: number = REG_CSR0 + 4096;

/**
 * The names gdb's RISC-V target description gives `x0`-`x31`: the ABI names
 * of the disassembler, except that `x8` is `fp`.
 */
export const X_NAMES: readonly string[] = CORE_X_NAMES.map((n, i) =>
  i === 8 ? "fp" : n
);

/** The ABI names of `f0`-`f31`, in order. */
export const F_NAMES: readonly string[] = CORE_F_NAMES;

const MS_MPRV = 1 << 17;

function pair(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/**
 * The CSRs the debugger shows: every CSR the hart implements (core/csr.ts),
 * in number order, except `fflags`, `frm` and `fcsr`, which belong to the
 * FPU feature.
 */
const CSRS: readonly CsrDef[] = CSR_DEFS.filter((d) => d.num > CSR.fcsr)
  .sort((a, b) => a.num - b.num);

/** A register in the target description. */
export interface RegisterDescription {
  /** Its name (`pc`, `ft0`, `mstatus`, `priv`). */
  readonly name: string;
  /** Its GDB number. */
  readonly regnum: number;
  /** Width in bits. */
  readonly bitsize: number;
  /** The target description feature it belongs to. */
  readonly feature:
    | "org.gnu.gdb.riscv.cpu"
    | "org.gnu.gdb.riscv.fpu"
    | "org.gnu.gdb.riscv.csr"
    | "org.gnu.gdb.riscv.virtual";
  /** Its GDB type. */
  readonly type: string;
}

/** Every register the target description lists, in GDB number order. */
export const REGISTERS: readonly RegisterDescription[] = [
  ...X_NAMES.map((name, i): RegisterDescription => ({
    name,
    regnum: i,
    bitsize: 64,
    feature: "org.gnu.gdb.riscv.cpu",
    type: i === 1 ? "code_ptr" : i === 2 || i === 8 ? "data_ptr" : "int",
  })),
  {
    name: "pc",
    regnum: REG_PC,
    bitsize: 64,
    feature: "org.gnu.gdb.riscv.cpu",
    type: "code_ptr",
  },
  ...F_NAMES.map((name, i): RegisterDescription => ({
    name,
    regnum: REG_F0 + i,
    bitsize: 64,
    feature: "org.gnu.gdb.riscv.fpu",
    type: "riscv_double",
  })),
  ...(["fflags", "frm", "fcsr"] as const).map((name, i) => ({
    name,
    regnum: REG_CSR0 + 1 + i,
    bitsize: 64,
    feature: "org.gnu.gdb.riscv.fpu" as const,
    type: "int",
  })),
  ...CSRS.map((c): RegisterDescription => ({
    name: c.name,
    regnum: REG_CSR0 + c.num,
    bitsize: 64,
    feature: "org.gnu.gdb.riscv.csr",
    type: "int",
  })),
  {
    name: "priv",
    regnum: REG_PRIV,
    bitsize: 64,
    feature: "org.gnu.gdb.riscv.virtual",
    type: "int",
  },
];

/**
 * The target description XML (`target.xml`), with the registers of
 * {@linkcode REGISTERS}.
 *
 * @returns the XML document
 * @example
 * ```ts
 * import { targetXml } from "./debug_target.ts";
 * if (!targetXml().includes('name="mstatus"')) throw new Error("unreachable");
 * ```
 */
export function targetXml(): string {
  const out = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    "<target>",
    "<architecture>riscv:rv64</architecture>",
  ];
  let feature = "";
  for (const r of REGISTERS) {
    if (r.feature !== feature) {
      if (feature) out.push("</feature>");
      feature = r.feature;
      out.push(`<feature name="${feature}">`);
      if (feature === "org.gnu.gdb.riscv.fpu") {
        out.push(
          '<union id="riscv_double"><field name="float" type="ieee_single"/>' +
            '<field name="double" type="ieee_double"/></union>',
        );
      }
    }
    out.push(
      `<reg name="${r.name}" bitsize="${r.bitsize}" regnum="${r.regnum}" type="${r.type}"${
        r.feature === "org.gnu.gdb.riscv.csr" ? ' group="csr"' : ""
      }/>`,
    );
  }
  out.push("</feature>", "</target>");
  return out.join("\n") + "\n";
}

/** The kinds of watchpoint: GDB's `Z2` (write), `Z3` (read), `Z4` (access). */
export type WatchKind = "watch" | "rwatch" | "awatch";

/** A watchpoint: a range of virtual addresses and which accesses hit it. */
export interface Watchpoint {
  /** First virtual address. */
  readonly addr: bigint;
  /** Length in bytes. */
  readonly length: number;
  /** Which accesses hit. */
  readonly kind: WatchKind;
}

/** Why {@linkcode DebugTarget.run} returned. */
export type DebugStop =
  | { kind: "breakpoint"; pc: bigint }
  | { kind: "watchpoint"; watch: WatchKind; addr: bigint }
  | { kind: "step" }
  | { kind: "budget" }
  | { kind: "interrupted" }
  | { kind: "machine"; result: RunResult }
  /** Reverse execution reached the start of the replay's history. */
  | { kind: "history-begin" };

/** A load or store that an instruction is about to make. */
interface Access {
  addr: bigint;
  size: number;
  load: boolean;
  store: boolean;
}

/**
 * A machine under a debugger.
 *
 * @example Break at an address and read a register
 * ```ts
 * import { DebugTarget } from "./debug_target.ts";
 * import { VirtMachine } from "../devices/virt.ts";
 * // addi a0, zero, 5 ; addi a0, a0, 1 ; j .
 * const kernel = new Uint8Array([
 *   0x13, 0x05, 0x50, 0x00, 0x13, 0x05, 0x15, 0x00, 0x6f, 0x00, 0x00, 0x00,
 * ]);
 * const m = new VirtMachine({ bios: "none", kernel, memoryBytes: 1 << 20 });
 * const t = new DebugTarget(m);
 * t.insertBreakpoint(0x80000004n);
 * const stop = t.run(1000);
 * console.log(stop.kind, t.readRegister(10)); // breakpoint 5n
 * ```
 */
export class DebugTarget {
  /** The machine. */
  readonly machine: DebugMachine;
  readonly #breakpoints = new Set<bigint>();
  readonly #bpLow = new Set<number>();
  readonly #watchpoints: Watchpoint[] = [];
  readonly #tmp = new Int32Array(2);
  #interrupt = false;
  #watchStopIcount = -1;

  /**
   * Wrap a machine.
   *
   * @param machine the board (a `VirtMachine`)
   */
  constructor(machine: DebugMachine) {
    this.machine = machine;
  }

  /** The hart's pc. */
  get pc(): bigint {
    return this.machine.cpu.getPc();
  }

  /** Instructions retired. */
  get icount(): number {
    return this.machine.cpu.icount;
  }

  /**
   * Read a register by its GDB number.
   *
   * @param n the register number (see the module documentation)
   * @returns its value, or undefined if there is no such register
   */
  readRegister(n: number): bigint | undefined {
    const cpu = this.machine.cpu;
    if (n >= 0 && n < 32) return cpu.getX(n);
    if (n === REG_PC) return cpu.getPc();
    if (n >= REG_F0 && n < REG_F0 + 32) {
      const i = n - REG_F0;
      return pair(cpu.f[2 * i]!, cpu.f[2 * i + 1]!);
    }
    if (n === REG_PRIV) return BigInt(cpu.priv);
    if (n > REG_CSR0 && n < REG_PRIV) return cpu.readCsr(n - REG_CSR0);
    return undefined;
  }

  /**
   * Write a register by its GDB number. The integer registers, the pc and
   * the FP registers can be written; CSRs cannot (yet).
   *
   * @param n the register number
   * @param v the value
   * @returns false if the register cannot be written
   */
  writeRegister(n: number, v: bigint): boolean {
    const cpu = this.machine.cpu;
    if (n === 0) return true; // x0 ignores writes
    if (n > 0 && n < 32) {
      cpu.setX(n, v);
      return true;
    }
    if (n === REG_PC) {
      cpu.setPc(v);
      return true;
    }
    if (n >= REG_F0 && n < REG_F0 + 32) {
      const i = n - REG_F0;
      const u = BigInt.asUintN(64, v);
      cpu.f[2 * i] = Number(BigInt.asIntN(32, u));
      cpu.f[2 * i + 1] = Number(BigInt.asIntN(32, u >> 32n));
      return true;
    }
    return false;
  }

  /**
   * Translate a virtual address as a data access by the hart would, now
   * (Sv39 when `satp` enables it and the effective privilege is below M),
   * without side effects (no A/D updates, no TLB fill).
   *
   * @param vaddr the virtual address
   * @param fetch translate as an instruction fetch (`mstatus.MPRV` does not
   *   apply)
   * @returns the physical address, or -1 if it does not translate
   */
  translate(vaddr: bigint, fetch = false): number {
    const cpu = this.machine.cpu;
    const v = BigInt.asUintN(64, vaddr);
    let priv = cpu.priv;
    if (!fetch && priv === 3 && (cpu.mstatus & MS_MPRV)) {
      priv = (cpu.mstatus >>> 11) & 3;
    }
    if (priv === 3 || cpu.satpMode === 0) {
      return v < 2n ** 56n ? Number(v) : -1;
    }
    // Sv39: bits 63..39 must equal bit 38.
    const top = v >> 38n;
    if (top !== 0n && top !== (1n << 26n) - 1n) return -1;
    const bus = this.machine.bus, t = this.#tmp;
    let a = cpu.satpPpn * 4096;
    const vpn = [
      Number((v >> 12n) & 0x1ffn),
      Number((v >> 21n) & 0x1ffn),
      Number((v >> 30n) & 0x1ffn),
    ];
    for (let level = 2; level >= 0; level--) {
      const pteAddr = a + vpn[level]! * 8;
      if (!bus.inRam(pteAddr, 8) || !bus.read64(pteAddr, t)) return -1;
      const lo = t[0]!, hi = t[1]!;
      if (!(lo & 1) || ((lo & 6) === 4)) return -1; // invalid, or W without R
      const ppn = (lo >>> 10) + (hi & 0x3fffff) * 4194304;
      if ((lo & 0xa) === 0) {
        a = ppn * 4096;
        continue;
      }
      // A superpage keeps the low virtual page number bits.
      const mask = level === 0 ? 0n : (1n << BigInt(9 * level)) - 1n;
      if (level > 0 && (BigInt(ppn) & mask) !== 0n) return -1; // misaligned
      const pageNum = BigInt(ppn) | ((v >> 12n) & mask);
      return Number(pageNum * 4096n + (v & 0xfffn));
    }
    return -1;
  }

  #readPhys(pa: number): number {
    const bus = this.machine.bus;
    if (bus.inRam(pa, 1)) return bus.ram8[pa - bus.ramBase]!;
    const r = bus.find(pa);
    if (!r?.executable) return -1; // devices: reads may have side effects
    const off = pa - r.base;
    const word = r.read(off & ~3, 4);
    return (word >>> ((off & 3) * 8)) & 0xff;
  }

  /**
   * Read guest memory at a virtual address, through the current
   * translation. Only RAM and the boot ROM can be read: a device register
   * read could change the device, so it is refused like unmapped memory.
   *
   * @param vaddr the first address
   * @param length how many bytes
   * @returns the bytes, or undefined if any of them cannot be read
   */
  readMemory(vaddr: bigint, length: number): Uint8Array | undefined {
    const out = new Uint8Array(length);
    let pa = -1;
    for (let i = 0; i < length; i++) {
      const va = vaddr + BigInt(i);
      if (i === 0 || (va & 0xfffn) === 0n) pa = this.translate(va);
      else pa++;
      if (pa < 0) return undefined;
      const b = this.#readPhys(pa);
      if (b < 0) return undefined;
      out[i] = b;
    }
    return out;
  }

  /**
   * Read guest memory at a physical address (RAM and the boot ROM only).
   *
   * @param paddr the first address
   * @param length how many bytes
   * @returns the bytes, or undefined if any of them cannot be read
   */
  readPhysical(paddr: bigint, length: number): Uint8Array | undefined {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const pa = paddr + BigInt(i);
      if (pa >= 2n ** 56n) return undefined;
      const b = this.#readPhys(Number(pa));
      if (b < 0) return undefined;
      out[i] = b;
    }
    return out;
  }

  /**
   * Write guest RAM at a virtual address, through the current translation.
   * Nothing is written unless every byte is in RAM.
   *
   * @param vaddr the first address
   * @param bytes what to write
   * @returns false if some byte is not in RAM
   */
  writeMemory(vaddr: bigint, bytes: Uint8Array): boolean {
    const bus = this.machine.bus;
    const pas: number[] = [];
    let pa = -1;
    for (let i = 0; i < bytes.length; i++) {
      const va = vaddr + BigInt(i);
      if (i === 0 || (va & 0xfffn) === 0n) pa = this.translate(va);
      else pa++;
      if (pa < 0 || !bus.inRam(pa, 1)) return false;
      pas.push(pa);
    }
    for (let i = 0; i < bytes.length; i++) bus.write(pas[i]!, 1, bytes[i]!);
    return true;
  }

  /**
   * Stop before the instruction at `pc` executes.
   *
   * @param pc a virtual address
   */
  insertBreakpoint(pc: bigint): void {
    const v = BigInt.asUintN(64, pc);
    this.#breakpoints.add(v);
    this.#bpLow.add(Number(v & 0xffffffffn));
  }

  /**
   * Remove a breakpoint.
   *
   * @param pc its address
   * @returns false if there was none there
   */
  removeBreakpoint(pc: bigint): boolean {
    const removed = this.#breakpoints.delete(BigInt.asUintN(64, pc));
    this.#bpLow.clear();
    for (const b of this.#breakpoints) this.#bpLow.add(Number(b & 0xffffffffn));
    return removed;
  }

  /** The breakpoint addresses. */
  get breakpoints(): readonly bigint[] {
    return [...this.#breakpoints];
  }

  /**
   * Stop before an instruction that reads or writes (as `kind` says) any
   * byte of `[addr, addr + length)`. The range must translate now.
   *
   * @param addr first virtual address
   * @param length bytes
   * @param kind which accesses hit
   * @returns false (and nothing inserted) if the range does not translate
   *   to RAM or a device
   */
  insertWatchpoint(addr: bigint, length: number, kind: WatchKind): boolean {
    if (length <= 0) return false;
    for (const a of [addr, addr + BigInt(length - 1)]) {
      const pa = this.translate(a);
      if (pa < 0) return false;
      if (!this.machine.bus.inRam(pa, 1) && !this.machine.bus.find(pa)) {
        return false;
      }
    }
    this.#watchpoints.push({ addr: BigInt.asUintN(64, addr), length, kind });
    return true;
  }

  /**
   * Remove a watchpoint.
   *
   * @param addr its first address
   * @param length its length
   * @param kind its kind
   * @returns false if there was none
   */
  removeWatchpoint(addr: bigint, length: number, kind: WatchKind): boolean {
    const a = BigInt.asUintN(64, addr);
    const i = this.#watchpoints.findIndex((w) =>
      w.addr === a && w.length === length && w.kind === kind
    );
    if (i < 0) return false;
    this.#watchpoints.splice(i, 1);
    return true;
  }

  /** The watchpoints. */
  get watchpoints(): readonly Watchpoint[] {
    return this.#watchpoints;
  }

  /** Remove every breakpoint and watchpoint (a debugger detached). */
  clearAll(): void {
    this.#breakpoints.clear();
    this.#bpLow.clear();
    this.#watchpoints.length = 0;
  }

  /**
   * Ask a running {@linkcode DebugTarget.run} to stop at the next
   * instruction boundary it checks (GDB's Ctrl-C). Safe to call from a
   * callback that runs between instructions; a run that is not single
   * stepping checks only when its machine run returns.
   */
  interrupt(): void {
    this.#interrupt = true;
  }

  /**
   * Run up to `maxInsns` instructions, stopping at a breakpoint (before the
   * instruction there), before an instruction that hits a watchpoint (as
   * QEMU does on RISC-V; gdb steps over it), or after one instruction with
   * `step`. The first instruction runs even if a
   * breakpoint is at the pc (so that continuing from a breakpoint moves
   * on). With no breakpoints, watchpoints or step, this is the machine's
   * own run, at full speed. A step that takes a trap stops at the
   * handler's first instruction.
   *
   * @param maxInsns instruction budget
   * @param options `step`: one instruction; `warpIdle`: as the machine's
   *   run; `interrupted`: polled now and then, true stops the run (a flag
   *   another thread sets)
   * @returns why it stopped
   */
  run(
    maxInsns: number,
    options: {
      step?: boolean;
      warpIdle?: boolean;
      interrupted?: () => boolean;
    } = {},
  ): DebugStop {
    const asked = options.interrupted;
    if (this.#interrupt || asked?.()) {
      this.#interrupt = false;
      return { kind: "interrupted" };
    }
    const m = this.machine, cpu = m.cpu;
    const runOpts = { warpIdle: options.warpIdle ?? false };
    const watching = this.#watchpoints.length > 0;
    if (!options.step && this.#breakpoints.size === 0 && !watching) {
      const r = m.run(maxInsns, runOpts);
      if (r.kind === "budget" || r.kind === "stopped") {
        if (this.#interrupt || asked?.()) {
          this.#interrupt = false;
          return { kind: "interrupted" };
        }
        return { kind: "budget" };
      }
      return { kind: "machine", result: r };
    }
    // One instruction at a time. A trap ends the machine's run right at the
    // handler (so a step lands there, and a breakpoint there is seen).
    const previous = cpu.onTrap;
    cpu.onTrap = (cause, interrupt) => {
      previous?.(cause, interrupt);
      cpu.requestStop();
    };
    try {
      const end = cpu.icount + maxInsns;
      let first = true;
      let polls = 0;
      while (cpu.icount < end || first) {
        // The low word filters first: no bigint per instruction.
        if (
          !first && this.#bpLow.has(cpu.pcLo >>> 0) &&
          this.#breakpoints.has(cpu.getPc())
        ) {
          return { kind: "breakpoint", pc: cpu.getPc() };
        }
        if (
          !first &&
          (this.#interrupt || (asked && (++polls & 255) === 0 && asked()))
        ) {
          this.#interrupt = false;
          return { kind: "interrupted" };
        }
        first = false;
        // A watchpoint stops before the access, as QEMU's do on RISC-V (gdb
        // then steps over it with the watchpoint removed). The instruction
        // reported last time runs, or continuing would stop there again.
        if (watching && cpu.icount !== this.#watchStopIcount) {
          const access = this.#accessOf(cpu.peekInsn());
          const hit = access && this.#watchHit(access);
          if (hit) {
            this.#watchStopIcount = cpu.icount;
            return hit;
          }
        }
        this.#watchStopIcount = -1;
        // Breakpoints alone: run the straight-line code up to the next
        // breakpoint or control transfer in one go (see #straightRun).
        const n = watching || options.step
          ? 1
          : Math.min(this.#straightRun(), Math.max(1, end - cpu.icount));
        const r = m.run(n, runOpts);
        if (r.kind !== "budget" && r.kind !== "stopped") {
          return { kind: "machine", result: r };
        }
        if (options.step) return { kind: "step" };
      }
      return { kind: "budget" };
    } finally {
      cpu.onTrap = previous;
    }
  }

  /**
   * How many instructions from the pc run in a straight line before a
   * breakpoint could be reached: up to (and including) the first control
   * transfer, system instruction or store (a store could rewrite what
   * follows), stopping short of a breakpoint, at the page's end, and at 64.
   * Within such a run the pcs are sequential; a trap or an interrupt on the
   * way ends the machine's run at the handler (`onTrap`), where the
   * breakpoints are checked again. At least 1.
   */
  #straightRun(): number {
    const cpu = this.machine.cpu, bus = this.machine.bus;
    // Bare (M-mode or satp off): the pc is the address, no bigint needed.
    const pa = cpu.priv === 3 || cpu.satpMode === 0
      ? (cpu.pcHi >>> 0) * 4294967296 + (cpu.pcLo >>> 0)
      : this.translate(cpu.getPc(), true);
    if (pa < 0 || !bus.inRam(pa, 2)) return 1;
    const ram = bus.ram8;
    let off = pa - bus.ramBase;
    const pageEnd = Math.min(off - (pa & 0xfff) + 4096, bus.ramSize);
    const bpLow = this.#bpLow;
    let lo = cpu.pcLo >>> 0;
    let k = 0;
    while (k < 64) {
      if (k > 0 && bpLow.has(lo)) break; // (a match on the low word suffices)
      if (off + 2 > pageEnd) break;
      const h = ram[off]! | (ram[off + 1]! << 8);
      const size = (h & 3) === 3 ? 4 : 2;
      if (off + size > pageEnd) break;
      const insn = size === 4
        ? (h | (ram[off + 2]! << 16) | (ram[off + 3]! << 24)) >>> 0
        : h;
      k++;
      off += size;
      lo = (lo + size) >>> 0;
      if (endsStraightRun(insn)) break;
    }
    return Math.max(k, 1);
  }

  #watchHit(a: Access): DebugStop | undefined {
    const end = a.addr + BigInt(a.size);
    for (const w of this.#watchpoints) {
      if (a.addr >= w.addr + BigInt(w.length) || end <= w.addr) continue;
      const hit = w.kind === "awatch" ||
        (w.kind === "watch" && a.store) || (w.kind === "rwatch" && a.load);
      if (!hit) continue;
      return {
        kind: "watchpoint",
        watch: w.kind,
        addr: a.addr > w.addr ? a.addr : w.addr,
      };
    }
    return undefined;
  }

  /** The load or store an instruction makes, from the registers now. */
  #accessOf(insn: number): Access | undefined {
    const cpu = this.machine.cpu;
    const x = (r: number) => cpu.getX(r);
    const at = (base: number, off: number, size: number, store: boolean) => ({
      addr: BigInt.asUintN(64, x(base) + BigInt(off)),
      size,
      load: !store,
      store,
    });
    if ((insn & 3) !== 3) {
      const c = insn & 0xffff, q = c & 3, f3 = c >>> 13;
      const rs1p = ((c >>> 7) & 7) + 8;
      const offW = ((c >>> 7) & 0x38) | ((c << 1) & 0x40) | ((c >>> 4) & 4);
      const offD = ((c >>> 7) & 0x38) | ((c << 1) & 0xc0);
      if (q === 0) {
        const sizes = [0, 8, 4, 8, 0, 8, 4, 8];
        const size = sizes[f3]!;
        if (size === 0) return undefined;
        return at(rs1p, size === 4 ? offW : offD, size, f3 >= 5);
      }
      if (q === 2) {
        const lwsp = ((c >>> 2) & 0x1c) | ((c >>> 7) & 0x20) |
          ((c << 4) & 0xc0);
        const ldsp = ((c >>> 2) & 0x18) | ((c >>> 7) & 0x20) |
          ((c << 4) & 0x1c0);
        const swsp = ((c >>> 7) & 0x3c) | ((c >>> 1) & 0xc0);
        const sdsp = ((c >>> 7) & 0x38) | ((c >>> 1) & 0x1c0);
        if (f3 === 1 || f3 === 3) return at(2, ldsp, 8, false);
        if (f3 === 2) return at(2, lwsp, 4, false);
        if (f3 === 5 || f3 === 7) return at(2, sdsp, 8, true);
        if (f3 === 6) return at(2, swsp, 4, true);
      }
      return undefined;
    }
    const op = insn & 0x7f, f3 = (insn >>> 12) & 7, rs1 = (insn >>> 15) & 31;
    if (op === 0x03 || op === 0x07) { // loads, FP loads
      return at(rs1, insn >> 20, 1 << (f3 & 3), false);
    }
    if (op === 0x23 || op === 0x27) { // stores, FP stores
      const imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
      return at(rs1, imm, 1 << (f3 & 3), true);
    }
    if (op === 0x2f) { // atomics: LR loads, SC stores, AMOs both
      const f5 = insn >>> 27;
      const size = f3 === 3 ? 8 : 4;
      const a = at(rs1, 0, size, f5 !== 2);
      return { ...a, load: f5 !== 3 };
    }
    return undefined;
  }
}

/**
 * Whether an instruction may be followed by anything but the next one in
 * memory, or may change what follows: branches, jumps, system instructions
 * (CSRs, `ecall`, `xret`, `wfi`, `sfence.vma`), `fence.i`, stores and
 * atomics. An illegal instruction traps, which `onTrap` catches.
 */
function endsStraightRun(insn: number): boolean {
  if ((insn & 3) !== 3) {
    const q = insn & 3, f3 = (insn >>> 13) & 7;
    if (q === 0) return f3 >= 5; // c.fsd, c.sw, c.sd
    if (q === 1) return f3 === 1 || f3 === 5 || f3 === 6 || f3 === 7;
    // q 2: c.jr/c.jalr/c.ebreak (f3 4), c.fsdsp/c.swsp/c.sdsp (f3 5-7)
    return f3 >= 4 && (f3 !== 4 || ((insn >>> 2) & 31) === 0);
  }
  const op = insn & 0x7f;
  return op === 0x63 || op === 0x6f || op === 0x67 || op === 0x73 ||
    op === 0x23 || op === 0x27 || op === 0x2f || op === 0x0f;
}

/**
 * Format a 64-bit value as GDB's little-endian hex.
 *
 * @param v the value
 * @param bytes its width
 * @returns the hex digits, lowest byte first
 * @example
 * ```ts
 * import { leHex } from "./debug_target.ts";
 * if (leHex(0x1234n, 4) !== "34120000") throw new Error("unreachable");
 * ```
 */
export function leHex(v: bigint, bytes = 8): string {
  let s = "";
  let u = BigInt.asUintN(bytes * 8, v);
  for (let i = 0; i < bytes; i++) {
    s += Number(u & 0xffn).toString(16).padStart(2, "0");
    u >>= 8n;
  }
  return s;
}
