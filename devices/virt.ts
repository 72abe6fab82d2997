/**
 * The `virt` board: one RV64GC hart, RAM at 0x80000000, and QEMU's `virt`
 * devices at QEMU's addresses, booted the way QEMU boots it.
 *
 * Reference: QEMU's `hw/riscv/virt.c` (`virt_machine_init`) and
 * `hw/riscv/boot.c` (firmware and kernel placement, the FDT address, the
 * reset vector). Left out: PCIe, flash, fw_cfg, the platform bus, AIA, and
 * more than one hart.
 *
 * The board does no host I/O: firmware and kernel come in as bytes, serial
 * output leaves through a callback, and serial input comes in through
 * {@linkcode VirtMachine.sendInput}. Host wall-clock time reaches the guest
 * only through the RTC's `hostClock` option.
 *
 * @module
 */

import { Bus } from "../core/bus.ts";
import type { MmioRegion } from "../core/bus.ts";
import { VirtualClock } from "../core/clock.ts";
import { Cpu, StopReason } from "../core/cpu.ts";
import { isElf, parseElf } from "../core/elf.ts";
import * as map from "../core/memory_map.ts";
import { BootRom } from "./boot_rom.ts";
import { Htif } from "./htif.ts";
import type { Clint } from "./clint.ts";
import type { GoldfishRtc } from "./goldfish_rtc.ts";
import type { Plic } from "./plic.ts";
import type { SifiveTest } from "./sifive_test.ts";
import type { Uart16550 } from "./uart_16550.ts";
import { buildVirtFdt } from "./virt_fdt.ts";
import { ReplayDivergenceError } from "../replay/nondet.ts";
import type { NondetEvent, NondetSource } from "../replay/nondet.ts";
import type { PluginRegistry } from "../plugins/registry.ts";
import { PluginHost } from "../plugins/host.ts";
import type { DeviceSpec, HostedDevice } from "../plugins/host.ts";
import { runObserved } from "../plugins/instrumentation.ts";
import type { InstrumentationHooks } from "../plugins/instrumentation.ts";
import {
  builtinRegistry,
  clintPlugin,
  plicPlugin,
  rtcPlugin,
  sifiveTestPlugin,
  uartPlugin,
  virtioMmioPlugin,
} from "./builtin_plugins.ts";

/** Options for {@linkcode VirtMachine}. */
export interface VirtMachineOptions {
  /**
   * RAM size in bytes.
   *
   * @default {134217728}
   */
  memoryBytes?: number;
  /** Firmware image (ELF or raw), or "none" to boot the kernel in M-mode. */
  bios?: Uint8Array | "none";
  /** Kernel image (ELF or raw). */
  kernel?: Uint8Array;
  /** Kernel command line (`/chosen/bootargs`). */
  append?: string;
  /** Initial ramdisk. */
  initrd?: Uint8Array;
  /** A device tree blob to use instead of the generated one. */
  dtb?: Uint8Array;
  /**
   * icount shift: each instruction takes 2^shift virtual ns.
   *
   * @default {3}
   */
  icountShift?: number;
  /** Where serial output goes. */
  output?: (bytes: Uint8Array) => void;
  /**
   * Host wall-clock time in ns since the epoch, read once for the RTC.
   *
   * @default {() => BigInt(Date.now()) * 1000000n}
   */
  hostClock?: () => bigint | number;
  /**
   * Record mode: called with every nondeterministic input as it takes
   * effect (serial input, idle warps, the RTC's host clock, the end).
   */
  record?: (event: NondetEvent) => void;
  /**
   * Replay mode: take the nondeterministic inputs from here instead of the
   * host; {@linkcode VirtMachine.sendInput} is then ignored.
   */
  replay?: NondetSource;
  /**
   * The plugin registry the board creates its devices from.
   *
   * @default {builtinRegistry()}
   */
  registry?: PluginRegistry;
  /**
   * Exit instead of resetting when the guest asks for a reset.
   *
   * @default {false}
   */
  noReboot?: boolean;
  /**
   * `/chosen/rng-seed` in the generated device tree: "host" for 32 bytes of
   * host entropy as QEMU does (a nondeterministic input: recorded, and taken
   * from the log in replay), fixed bytes, or "none" for no seed.
   *
   * @default {"none"}
   */
  rngSeed?: "host" | "none" | Uint8Array;
  /**
   * Plugin devices to add to the board (`-device`): each gets its MMIO
   * window at `addr`, its PLIC line `irq`, and a device tree node.
   *
   * @default {[]}
   */
  devices?: readonly DeviceSpec[];
  /**
   * Instrumentation callbacks (`-plugin`). With any, the hart runs on the
   * observed path, one instruction at a time; with none, the fast path.
   *
   * @default {[]}
   */
  instrumentation?: readonly InstrumentationHooks[];
}

/** How a run of the machine ended. */
export type ExitStatus =
  | { kind: "poweroff"; code: number }
  | { kind: "reset"; code: number }
  | { kind: "trap-loop"; pc: bigint; cause: bigint };

/** Why {@linkcode VirtMachine.run} returned. */
export type RunResult =
  | { kind: "budget" }
  | { kind: "idle"; deadlineNs: number }
  | { kind: "exit"; status: ExitStatus }
  | { kind: "stopped" }
  | { kind: "replay-end"; icount: number };

const MIB = 1024 * 1024;

/**
 * A `virt` machine.
 *
 * @example Boot a two-instruction kernel with -bios none
 * ```ts
 * import { VirtMachine } from "./virt.ts";
 * // li t0, 0x100000 ; li t1, 0x5555 ; sw t1, 0(t0)   (power off)
 * const kernel = new Uint8Array([
 *   0xb7, 0x02, 0x10, 0x00, 0x37, 0x53, 0x00, 0x00, 0x1b, 0x03, 0x53, 0x55,
 *   0x23, 0xa0, 0x62, 0x00,
 * ]);
 * const m = new VirtMachine({ bios: "none", kernel, memoryBytes: 1 << 20 });
 * const r = m.run(1000);
 * if (r.kind !== "exit" || r.status.kind !== "poweroff") throw new Error("unreachable");
 * ```
 */
export class VirtMachine {
  /** The physical bus. */
  readonly bus: Bus;
  /** The virtual clock. */
  readonly clock: VirtualClock;
  /** The hart. */
  readonly cpu: Cpu;
  /** The 16550 UART. */
  readonly uart: Uart16550;
  /** The CLINT. */
  readonly clint: Clint;
  /** The PLIC. */
  readonly plic: Plic;
  /** The RTC. */
  readonly rtc: GoldfishRtc;
  /** The power-off/reset device. */
  readonly test: SifiveTest;
  /** The reset-vector ROM. */
  readonly rom: BootRom;
  /** Where the FDT sits in RAM. */
  readonly fdtAddr: number;
  /**
   * HTIF, when the firmware or kernel ELF defines `tohost`: polled after
   * every slice, with slices of at most 10,000 instructions (see
   * `htif.ts`).
   */
  readonly htif: Htif | undefined;
  /** Instructions per slice between host checks. */
  sliceInsns = 1 << 20;
  #options: VirtMachineOptions;
  #input: number[] = [];
  #exit: ExitStatus | undefined;
  #images: { addr: number; bytes: Uint8Array }[] = [];
  #symbols: ReadonlyMap<string, number>[] = [];
  #fdt: Uint8Array;

  /**
   * Build the board and load the images.
   *
   * @param options RAM size, images and I/O callbacks
   * @throws {RangeError} if an image does not fit in RAM
   * @throws {SyntaxError} if an ELF image is malformed
   */
  constructor(options: VirtMachineOptions = {}) {
    this.#options = options;
    this.#record = options.record;
    this.#replay = options.replay;
    const memoryBytes = options.memoryBytes ?? 128 * MIB;
    this.bus = new Bus(memoryBytes, { ramBase: map.DRAM_BASE });
    // Late-bound references: the clock needs the hart, the hart the CLINT.
    const refs: { cpu?: Cpu; clint?: Clint; plic?: Plic } = {};
    this.clock = new VirtualClock(() => refs.cpu?.icount ?? 0, {
      shift: options.icountShift ?? 3,
    });
    const clock = this.clock;
    // The hart needs the CLINT's mtime, and the CLINT needs the hart.
    const time = {
      readMtime: () => refs.clint!.readMtime(),
      mtimeToNs: (ticks: number) => {
        const now = clock.nowNs();
        const base = Math.floor(now / 100);
        return (base + (ticks - refs.clint!.readMtime())) * 100;
      },
    };
    this.cpu = new Cpu({ bus: this.bus, clock, time });
    refs.cpu = this.cpu;
    const cpu = this.cpu;
    clock.onChange = () => cpu.endSlice();
    const registry = options.registry ?? builtinRegistry();
    const host = new PluginHost(registry, {
      bus: this.bus,
      clock,
      hart: cpu,
      plicLine: (n) => refs.plic!.irq(n),
      deliver: (kind, payload) => this.injectEvent(kind, payload),
    });
    this.plugins = host;
    this.plic = host.createBuiltin(plicPlugin, { addr: map.PLIC_BASE }, {
      base: map.PLIC_BASE,
    });
    refs.plic = this.plic;
    this.clint = host.createBuiltin(clintPlugin, { addr: map.CLINT_BASE }, {
      base: map.CLINT_BASE,
    });
    refs.clint = this.clint;
    const output = options.output;
    const outBuf: number[] = [];
    this.uart = host.createBuiltin(uartPlugin, {
      addr: map.UART0_BASE,
      irq: map.UART0_IRQ,
    }, {
      base: map.UART0_BASE,
      irq: map.UART0_IRQ,
      output: output
        ? (b) => {
          outBuf.push(b);
          if (outBuf.length >= 256) this.#flushOutput(outBuf);
        }
        : () => {},
    });
    this.#outBuf = outBuf;
    this.rtc = host.createBuiltin(rtcPlugin, {
      addr: map.RTC_BASE,
      irq: map.RTC_IRQ,
    }, {
      base: map.RTC_BASE,
      irq: map.RTC_IRQ,
      hostClock: () => this.#hostClock(),
    });
    this.test = host.createBuiltin(sifiveTestPlugin, {
      addr: map.TEST_BASE,
    }, {
      base: map.TEST_BASE,
      onShutdown: (kind, code) => {
        this.#exit = { kind, code };
        cpu.requestStop();
      },
    });
    this.#virtio = [];
    for (let i = 0; i < map.VIRTIO_COUNT; i++) {
      const base = map.VIRTIO_BASE + i * map.VIRTIO_SIZE;
      this.#virtio.push(
        host.createBuiltin(virtioMmioPlugin, {
          name: `virtio-mmio.${i}`,
          addr: base,
          irq: map.VIRTIO_IRQ + i,
        }, { base }),
      );
    }
    this.#pluginDevices = (options.devices ?? []).map((spec) => host.add(spec));
    this.#hooks = options.instrumentation ?? [];

    // Images.
    const ramEnd = map.DRAM_BASE + memoryBytes;
    let startAddr = map.DRAM_BASE;
    let kernelEntry = map.KERNEL_LOAD_ADDR;
    let firmwareEnd = map.DRAM_BASE;
    const bios = options.bios ?? "none";
    if (bios !== "none") {
      const r = this.#place(bios, map.DRAM_BASE, "firmware");
      startAddr = r.entry;
      firmwareEnd = r.end;
    }
    if (options.kernel) {
      const kernelStart = bios === "none"
        ? map.DRAM_BASE
        : Math.ceil(firmwareEnd / (2 * MIB)) * 2 * MIB;
      const r = this.#place(options.kernel, kernelStart, "kernel");
      kernelEntry = r.entry;
      if (bios === "none") startAddr = r.entry;
    }
    let initrd: { start: number; end: number } | undefined;
    if (options.initrd) {
      const start = Math.floor(
        (kernelEntry + Math.min(memoryBytes / 2, 128 * MIB)) / 4096,
      ) * 4096;
      this.#addImage(start, options.initrd, "initrd");
      initrd = { start, end: start + options.initrd.length };
    }
    const rngSeed = options.dtb ? undefined : this.#rngSeed(options.rngSeed);
    this.#fdt = options.dtb ?? buildVirtFdt({
      ramBase: map.DRAM_BASE,
      ramSize: memoryBytes,
      ...(rngSeed ? { rngSeed } : {}),
      ...(options.append !== undefined ? { bootargs: options.append } : {}),
      ...(initrd ? { initrd } : {}),
      devices: this.#pluginDevices.map((d) => ({
        name: d.name,
        compatible: d.plugin.compatible ?? `deja,${d.plugin.name}`,
        base: d.addr,
        size: d.plugin.mmioSize ??
          d.instance.regions.reduce(
              (end, r) => Math.max(end, r.base + r.size),
              d.addr,
            ) - d.addr,
        ...(d.irq !== undefined ? { irq: d.irq } : {}),
      })),
    });
    // QEMU puts the FDT at the top of RAM (below 3 GiB), 2 MiB aligned; on a
    // tiny RAM that would hit the images, so fall back to 16-byte alignment.
    const fdtTop = Math.min(ramEnd, 3072 * MIB + map.DRAM_BASE);
    const imagesEnd = this.#images.reduce(
      (end, img) => Math.max(end, img.addr + img.bytes.length),
      map.DRAM_BASE,
    );
    let fdtAddr = Math.floor((fdtTop - this.#fdt.length) / (2 * MIB)) *
      (2 * MIB);
    if (fdtAddr < imagesEnd) {
      fdtAddr = Math.floor((fdtTop - this.#fdt.length) / 16) * 16;
    }
    if (fdtAddr < imagesEnd) {
      throw new RangeError(
        "Cannot place the device tree: RAM is too small for the images; raise -m",
      );
    }
    this.fdtAddr = fdtAddr;
    this.#addImage(this.fdtAddr, this.#fdt, "device tree");
    this.rom = new BootRom({
      startAddr,
      fdtAddr: this.fdtAddr,
      kernelEntry,
      nextMode: 1,
    });

    const regions: MmioRegion[] = [
      ...this.rom.regions.map((r) => ({ ...r, executable: true })),
      ...this.test.regions,
      ...this.rtc.regions,
      ...this.clint.regions,
      ...this.plic.regions,
      ...this.uart.regions,
    ];
    for (const v of this.#virtio) regions.push(...v.regions);
    for (const d of this.#pluginDevices) regions.push(...d.instance.regions);
    for (const r of regions) this.bus.register(r);
    this.#loadImages();
    cpu.reset(map.MROM_BASE);
    // The firmware's tohost wins over the kernel's.
    let htif: Htif | undefined;
    for (const symbols of this.#symbols) {
      htif ??= Htif.fromSymbols(symbols, {
        bus: this.bus,
        output: (bytes) => {
          for (const b of bytes) outBuf.push(b);
          this.#flushOutput(outBuf);
        },
      });
    }
    this.htif = htif;
    for (const h of this.#hooks) h.vcpuInit?.();
  }

  /** The board side of the device plugins (built-in and `-device`). */
  readonly plugins: PluginHost;
  #pluginDevices: HostedDevice[];
  #hooks: readonly InstrumentationHooks[];
  #finished = false;

  /**
   * Hand a plugin replay event to the device that brings its kind, as a
   * backend or a device emitted it. Recorded at the current instruction;
   * ignored in replay mode, where the log supplies the events.
   *
   * @param kind the event kind
   * @param payload the value, encoded by the kind's codec
   * @throws {PluginError} if no device on the board brings the kind
   */
  injectEvent(kind: string, payload: Uint8Array): void {
    if (this.#replay) return;
    this.plugins.apply(kind, payload);
    this.#record?.({
      kind: "plugin",
      icount: this.cpu.icount,
      event: kind,
      payload,
    });
  }

  /**
   * Tell the instrumentation plugins that the run is over (`vcpuExit`,
   * then `exit`). Only the first call counts.
   *
   * @param reason why the run ended
   */
  finishInstrumentation(reason: string): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const h of this.#hooks) h.vcpuExit?.();
    const info = Object.freeze({ icount: this.cpu.icount, reason });
    for (const h of this.#hooks) h.exit?.(info);
  }

  #outBuf: number[];
  #record: ((event: NondetEvent) => void) | undefined;
  #replay: NondetSource | undefined;
  #ended = false;

  #rngSeed(mode: VirtMachineOptions["rngSeed"]): Uint8Array | undefined {
    if (mode === undefined || mode === "none") return undefined;
    if (mode instanceof Uint8Array) return mode;
    if (this.#replay) {
      const e = this.#replay.take();
      if (e?.kind !== "random") {
        throw new ReplayDivergenceError(
          0,
          `the device tree takes host entropy (rng-seed), but the log has ${
            e?.kind ?? "no event"
          } next`,
        );
      }
      return e.bytes;
    }
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    this.#record?.({ kind: "random", icount: 0, bytes });
    return bytes;
  }

  #hostClock(): bigint {
    const icount = this.cpu.icount;
    if (this.#replay) {
      const e = this.#replay.take();
      if (e?.kind !== "host-clock") {
        throw new ReplayDivergenceError(
          icount,
          `the RTC read the host clock, but the log has ${
            e?.kind ?? "no event"
          } next`,
        );
      }
      return e.ns;
    }
    const v = this.#options.hostClock?.() ?? BigInt(Date.now()) * 1000000n;
    const ns = BigInt(v);
    this.#record?.({ kind: "host-clock", icount, ns });
    return ns;
  }
  #virtio: { regions: readonly MmioRegion[] }[];

  #flushOutput(buf: number[]): void {
    if (buf.length === 0) return;
    this.#options.output?.(Uint8Array.from(buf));
    buf.length = 0;
  }

  #place(
    bytes: Uint8Array,
    rawAddr: number,
    what: string,
  ): { entry: number; end: number } {
    if (isElf(bytes)) {
      const elf = parseElf(bytes, what);
      this.#symbols.push(elf.symbols);
      let end = 0;
      for (const s of elf.segments) {
        const data = new Uint8Array(s.memSize);
        data.set(s.data.subarray(0, Math.min(s.data.length, s.memSize)));
        this.#addImage(s.paddr, data, what);
        end = Math.max(end, s.paddr + s.memSize);
      }
      return { entry: elf.entry, end };
    }
    this.#addImage(rawAddr, bytes, what);
    return { entry: rawAddr, end: rawAddr + bytes.length };
  }

  #addImage(addr: number, bytes: Uint8Array, what: string): void {
    if (!this.bus.inRam(addr, bytes.length)) {
      throw new RangeError(
        `Cannot load the ${what}: ${bytes.length} bytes at 0x${
          addr.toString(16)
        } do not fit in RAM (0x${this.bus.ramBase.toString(16)} to 0x${
          (this.bus.ramBase + this.bus.ramSize).toString(16)
        }); raise -m`,
      );
    }
    this.#images.push({ addr, bytes });
  }

  #loadImages(): void {
    for (const img of this.#images) this.bus.load(img.addr, img.bytes);
  }

  /** Set when the guest powered off, asked for a reset, or got stuck. */
  get exitStatus(): ExitStatus | undefined {
    return this.#exit;
  }

  /** Bytes of serial input not yet taken by the UART. */
  get pendingInput(): number {
    return this.#input.length;
  }

  /**
   * Queue serial input; it enters the UART FIFO as space allows.
   *
   * @param bytes the input
   */
  sendInput(bytes: Uint8Array): void {
    if (this.#replay) return; // in replay, input comes only from the log
    for (const b of bytes) this.#input.push(b);
    this.#feed();
  }

  #feed(): void {
    const q = this.#input;
    let n = 0;
    while (n < q.length && this.uart.rxSpace > 0) {
      if (!this.uart.receive(q[n]!)) break;
      n++;
    }
    if (n > 0) {
      const bytes = Uint8Array.from(q.splice(0, n));
      this.#record?.({ kind: "serial", icount: this.cpu.icount, bytes });
    }
  }

  /**
   * Let guest time pass while the hart idles, by `elapsedNs` of real time
   * but not past the next timer deadline (QEMU's `sleep=on`). The warp is a
   * nondeterministic input: it is recorded, and ignored in replay (where the
   * log supplies it).
   *
   * @param elapsedNs real nanoseconds that passed while idle
   */
  idleFor(elapsedNs: number): void {
    if (this.#replay) return;
    const clock = this.clock;
    const now = clock.nowNs();
    const deadline = clock.nextDeadline();
    // Keep the clock on instruction boundaries; reaching the deadline rounds
    // up, or a deadline between two boundaries would never be reached.
    const step = clock.nsPerInsn;
    const to = now + elapsedNs >= deadline
      ? Math.ceil(deadline / step) * step
      : Math.floor((now + elapsedNs) / step) * step;
    if (to <= now) return;
    clock.warpTo(to);
    this.#record?.({ kind: "warp", icount: this.cpu.icount, bias: clock.bias });
    clock.runExpired();
  }

  /**
   * End a recording here (the user quit): records an `end` event at the
   * current instruction count. Does nothing when not recording.
   */
  endRecording(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#record?.({ kind: "end", icount: this.cpu.icount });
  }

  /** Apply the logged inputs due at the current instruction count. */
  #applyReplay(): RunResult | undefined {
    const src = this.#replay!;
    const icount = this.cpu.icount;
    for (;;) {
      const e = src.peek();
      if (!e) {
        return { kind: "replay-end", icount };
      }
      if (e.icount > icount) return undefined;
      if (e.icount < icount) {
        throw new ReplayDivergenceError(
          icount,
          `the log has a ${e.kind} event at instruction ${e.icount}, which the replay ran past`,
        );
      }
      if (
        e.kind === "shutdown" && e.status.kind === "trap-loop" && !this.#exit
      ) {
        return undefined; // expected: the run loop finds the trap loop
      }
      src.take();
      switch (e.kind) {
        case "random":
          throw new ReplayDivergenceError(
            icount,
            "the log has host entropy that the replay did not ask for",
          );
        case "serial":
          for (const b of e.bytes) {
            if (!this.uart.receive(b)) {
              throw new ReplayDivergenceError(
                icount,
                "the UART receive FIFO had no room for logged input",
              );
            }
          }
          break;
        case "warp":
          this.clock.bias = e.bias;
          this.clock.runExpired();
          break;
        case "host-clock":
          throw new ReplayDivergenceError(
            icount,
            "the log has a host clock reading that the replay did not ask for",
          );
        case "shutdown": {
          const got = this.#exit;
          if (!got || got.kind !== e.status.kind) {
            throw new ReplayDivergenceError(
              icount,
              `the recording ended with ${e.status.kind} here, the replay did not`,
            );
          }
          if (
            got.kind !== "trap-loop" && e.status.kind !== "trap-loop" &&
            e.status.code !== -1 && got.code !== e.status.code
          ) {
            throw new ReplayDivergenceError(
              icount,
              `the guest's ${got.kind} has exit code ${got.code}; the recording had ${e.status.code}`,
            );
          }
          break;
        }
        case "plugin":
          this.plugins.apply(e.event, e.payload);
          break;
        case "end":
          return { kind: "replay-end", icount };
      }
    }
  }

  /** Reset the board as a guest-requested reboot does. */
  reset(): void {
    this.bus.ram8.fill(0);
    this.#loadImages();
    this.uart.reset();
    this.clint.reset();
    this.plic.reset();
    this.rtc.reset();
    for (const d of this.#pluginDevices) d.instance.reset();
    const icount = this.cpu.icount;
    this.cpu.reset(map.MROM_BASE);
    this.cpu.icount = icount; // time keeps going across a reboot
    this.#exit = undefined;
  }

  /**
   * Run up to `maxInsns` instructions, firing timers on the way.
   *
   * @param maxInsns instruction budget
   * @param options `warpIdle`: when the hart idles in `wfi`, jump the clock
   * to the next timer deadline instead of returning (QEMU's `sleep=off`)
   * @returns why it returned
   */
  run(maxInsns: number, options: { warpIdle?: boolean } = {}): RunResult {
    const cpu = this.cpu, clock = this.clock, htif = this.htif;
    let left = maxInsns;
    try {
      while (left > 0) {
        let toEvent = Infinity;
        if (this.#replay) {
          const r = this.#applyReplay();
          if (r) return r;
          // 0 only for a logged trap loop that is yet to come.
          toEvent = this.#replay.peek()!.icount - cpu.icount || 10_000;
        } else if (this.#input.length > 0) this.#feed();
        const toDeadline = clock.insnsToDeadline();
        // While input waits for FIFO space, come back soon to offer it.
        const slice = this.#input.length > 0 || htif ? 10_000 : this.sliceInsns;
        const n = Math.min(left, slice, toDeadline, toEvent);
        const before = cpu.icount;
        const reason = this.#hooks.length === 0
          ? cpu.run(n)
          : runObserved(cpu, n, this.#hooks);
        left -= cpu.icount - before;
        clock.runExpired();
        if (htif && !this.#exit) {
          const h = htif.poll();
          if (h.kind === "exit") {
            this.#exit = { kind: "poweroff", code: h.code };
          }
        }
        if (this.#exit) {
          if (this.#replay) {
            const r = this.#applyReplay(); // checks the logged shutdown
            if (r?.kind === "replay-end" && this.#exit.kind !== "reset") {
              return { kind: "exit", status: this.#exit };
            }
          } else {
            this.#record?.({
              kind: "shutdown",
              icount: cpu.icount,
              status: this.#exit,
            });
          }
          if (this.#exit.kind === "reset" && !this.#options.noReboot) {
            this.reset();
            continue;
          }
          this.#ended = true;
          return { kind: "exit", status: this.#exit };
        }
        if (reason === StopReason.TrapLoop) {
          this.#exit = {
            kind: "trap-loop",
            pc: cpu.getPc(),
            cause: BigInt(cpu.csr64[cpu.priv === 3 ? 4 : 14]! >>> 0),
          };
          if (this.#replay) this.#applyReplay(); // checks the logged one
          else {
            this.#record?.({
              kind: "shutdown",
              icount: cpu.icount,
              status: this.#exit,
            });
          }
          this.#ended = true;
          return { kind: "exit", status: this.#exit };
        }
        if (reason === StopReason.Requested) return { kind: "stopped" };
        if (reason === StopReason.Idle && !cpu.wakeable) {
          if (this.#input.length > 0 && this.uart.rxSpace > 0) continue;
          if (this.#replay && this.#replay.peek()?.icount === cpu.icount) {
            continue; // a logged warp or input wakes it
          }
          const d = clock.nextDeadline();
          if (options.warpIdle && d !== Infinity) {
            clock.warpTo(d);
            clock.runExpired();
            continue;
          }
          if (this.#replay && !options.warpIdle) {
            throw new ReplayDivergenceError(
              cpu.icount,
              "the hart is idle here, but the log has no clock warp or input for it",
            );
          }
          return { kind: "idle", deadlineNs: d };
        }
      }
      return { kind: "budget" };
    } finally {
      this.#flushOutput(this.#outBuf);
    }
  }

  /**
   * A SHA-256 over the guest-visible state that a replay must reproduce:
   * RAM, the integer and FP registers, the pc, the privilege level, the
   * instruction count and the main CSRs.
   *
   * @returns the hash as hexadecimal
   */
  async stateHash(): Promise<string> {
    const cpu = this.cpu;
    const regs = new Int32Array(64 + 64 + 16);
    regs.set(cpu.x.subarray(0, 64), 0);
    regs.set(cpu.f, 64);
    regs.set([
      cpu.pcLo,
      cpu.pcHi,
      cpu.priv,
      cpu.icount % 4294967296,
      Math.floor(cpu.icount / 4294967296),
      cpu.mstatus,
      cpu.mie,
      cpu.mip,
      cpu.fcsr,
      cpu.satpMode,
      cpu.satpPpn % 4294967296,
    ], 128);
    const ram = new Uint8Array(this.bus.ramSize);
    ram.set(this.bus.ram8);
    const parts = [new Uint8Array(regs.buffer), ram];
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    const digest = await crypto.subtle.digest("SHA-256", all);
    return [...new Uint8Array(digest)].map((b) =>
      b.toString(16).padStart(2, "0")
    )
      .join("");
  }

  /** The generated (or given) device tree blob. */
  get fdt(): Uint8Array {
    return this.#fdt;
  }
}
