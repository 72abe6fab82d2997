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
 * only through the RTC's `hostClock` option. Every nondeterministic input
 * goes through the machine's {@linkcode EventBackend} (`events.ts`): the
 * board knows nothing of logs; `replay/` records and replays around it.
 *
 * @module
 */

import { Bus } from "../core/bus.ts";
import type { MmioRegion } from "../core/bus.ts";
import { VirtualClock } from "../core/clock.ts";
import { Cpu, PRIV_M, StopReason } from "../core/cpu.ts";
import { isElf, parseElf } from "../core/elf.ts";
import { warmUpInterpreter } from "../core/warmup.ts";
import * as map from "../core/memory_map.ts";
import { BootRom } from "./boot_rom.ts";
import { Htif } from "./htif.ts";
import type { Clint } from "./clint.ts";
import type { GoldfishRtc } from "./goldfish_rtc.ts";
import type { Plic } from "./plic.ts";
import type { SifiveTest } from "./sifive_test.ts";
import type { Uart16550 } from "./uart_16550.ts";
import { buildVirtFdt } from "./virt_fdt.ts";
import type { BlockImage } from "./block_image.ts";
import { VirtioBlk } from "./virtio_blk.ts";
import type { VirtioDevice, VirtioMmioSlot } from "./virtio_mmio.ts";
import { VirtioRng } from "./virtio_rng.ts";
import { VirtioNet } from "./virtio_net.ts";
import type { MachineSnapshot } from "./snapshot.ts";
import {
  CLOCK_WARP,
  EventRouter,
  HOST_BACKEND,
  HOST_CLOCK,
  HOST_ENTROPY,
  NET_RX,
  SERIAL_INPUT,
} from "./events.ts";
import type {
  EventBackend,
  EventKind,
  ExitStatus,
  InputEvent,
} from "./events.ts";
import type { PluginRegistry } from "../plugins/registry.ts";
import { PluginHost } from "../plugins/host.ts";
import type { DeviceSpec, HostedDevice } from "../plugins/host.ts";
import { deliverCounts, runObserved } from "../plugins/instrumentation.ts";
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
   * Where the nondeterministic inputs go (to be recorded) or come from (a
   * replay): see `events.ts`. `replay/runner.ts` makes the recording and
   * replaying backends.
   *
   * @default {HOST_BACKEND}
   */
  events?: EventBackend;
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
  /**
   * virtio devices (`-device virtio-blk-device`, `virtio-rng-device`), in
   * command-line order. As on QEMU's `virt`, the first takes the last
   * virtio-mmio slot (0x10008000, PLIC source 8), the next the one below.
   *
   * @default {[]}
   */
  virtio?: readonly VirtioDeviceConfig[];
  /**
   * The virtio-mmio slots show the legacy (version 1) registers, as QEMU
   * 7.2's default `force-legacy=on`; false for version 2.
   *
   * @default {true}
   */
  virtioLegacy?: boolean;
}

/** A virtio device on the board (`VirtMachineOptions.virtio`). */
export type VirtioDeviceConfig =
  | {
    kind: "blk";
    /** The disk (an `OverlayImage` keeps the image file unchanged). */
    image: BlockImage;
    /** Refuse guest writes. */
    readonly?: boolean;
    /** GET_ID's serial. */
    serial?: string;
    /**
     * The image file's identity, which a replay log's configuration names
     * (a replay with another image is refused).
     */
    identity?: { size: number; sha256: string };
  }
  | { kind: "rng" }
  | {
    kind: "net";
    /**
     * The MAC address.
     *
     * @default {52:54:00:12:34:56, then :57... as QEMU}
     */
    mac?: Uint8Array;
    /** Where transmitted frames go (none: they are dropped). */
    backend?: NetBackend;
  };

/**
 * A network backend: takes the frames the guest sends and may answer at
 * once (a built-in user network); other frames arrive through
 * {@linkcode VirtMachine.receiveFrame}. Off in a replay.
 */
export interface NetBackend {
  /**
   * The guest sent a frame.
   *
   * @param frame the Ethernet frame
   * @returns frames to deliver to the guest next
   */
  transmit(frame: Uint8Array): Uint8Array[] | void;
}

export type { ExitStatus } from "./events.ts";

/**
 * Why {@linkcode VirtMachine.run} returned (`replay-end` comes from the
 * replay runner, `replay/runner.ts`, never from the board).
 */
export type RunResult =
  | { kind: "budget" }
  | { kind: "idle"; deadlineNs: number }
  | { kind: "exit"; status: ExitStatus }
  | { kind: "stopped" }
  | { kind: "replay-end"; icount: number };

const MIB = 1024 * 1024;
/** Instructions a machine runs before the interpreter warm-up (core/warmup.ts). */
const WARM_UP_AT = 1_000_000;
/**
 * RAM pages of code a guest has decoded before the interpreter warm-up: a
 * guest that runs little code spends its time in translated blocks, and
 * the little it interprets does not need every case of the loop.
 */
const WARM_UP_PAGES = 32;

/**
 * The devices of the `virt` board, by plugin name, in the order the board
 * creates them (a replay log's configuration lists them).
 */
export const VIRT_DEVICES: readonly string[] = [
  plicPlugin.name,
  clintPlugin.name,
  uartPlugin.name,
  rtcPlugin.name,
  sifiveTestPlugin.name,
  ...Array.from({ length: map.VIRTIO_COUNT }, () => virtioMmioPlugin.name),
];

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
    this.#events = options.events ?? HOST_BACKEND;
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
      where: () => ({ pc: cpu.getPc(), icount: cpu.icount }),
    });
    this.plugins = host;
    // Pushed inputs: each kind says how it takes effect; plugin kinds go to
    // the device that brings them.
    this.router.register(SERIAL_INPUT, (bytes) => {
      for (const b of bytes) if (!this.uart.receive(b)) return false;
      return true;
    });
    this.router.register(NET_RX, ({ nic, frame }) => {
      const net = this.#nets[nic];
      if (!net) return false;
      net.receive(frame.slice());
      return true;
    });
    this.router.register(CLOCK_WARP, (bias) => {
      this.clock.bias = bias;
      this.clock.runExpired();
    });
    this.router.setFallback((kind, payload) => host.apply(kind, payload));
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
          this.#sent++;
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
      // The RTC's host-clock frontend.
      hostClock: () =>
        this.pull(
          HOST_CLOCK,
          () => BigInt(this.#options.hostClock?.() ?? Date.now() * 1e6),
        ),
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
    const virtio = options.virtio ?? [];
    if (virtio.length > map.VIRTIO_COUNT) {
      throw new RangeError(
        `Cannot add ${virtio.length} virtio devices: the board has ${map.VIRTIO_COUNT} virtio-mmio slots`,
      );
    }
    const bus = this.bus;
    const ram = {
      bytes: bus.ram8,
      base: map.DRAM_BASE,
      written: (offset: number, length: number) =>
        bus.ramWritten(offset, length),
    };
    for (let i = 0; i < map.VIRTIO_COUNT; i++) {
      const base = map.VIRTIO_BASE + i * map.VIRTIO_SIZE;
      const cfg = virtio[map.VIRTIO_COUNT - 1 - i];
      let device: VirtioDevice | undefined;
      if (cfg?.kind === "blk") device = new VirtioBlk(cfg);
      else if (cfg?.kind === "net") {
        const nic = this.#nets.length;
        const mac = cfg.mac ??
          new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + nic]);
        const backend = cfg.backend;
        const net = new VirtioNet({
          mac,
          legacy: options.virtioLegacy ?? true,
          transmit: (frame) => {
            if (this.#events.replaying || !backend) return;
            this.#sent++;
            const replies = backend.transmit(frame) ?? [];
            for (const r of replies) this.#netQueue.push({ nic, frame: r });
            // Deliver the answers at the next instruction boundary.
            if (replies.length > 0) cpu.endSlice();
          },
        });
        this.#nets.push(net);
        device = net;
      } else if (cfg?.kind === "rng") {
        device = new VirtioRng((n) =>
          this.pull(
            HOST_ENTROPY,
            () => crypto.getRandomValues(new Uint8Array(n)),
          )
        );
      }
      this.#virtio.push(
        host.createBuiltin(virtioMmioPlugin, {
          name: `virtio-mmio.${i}`,
          addr: base,
          irq: map.VIRTIO_IRQ + i,
        }, {
          base,
          legacy: options.virtioLegacy ?? true,
          ...(device ? { device, ram } : {}),
        }),
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
          d.regions.reduce(
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
    for (const d of this.#pluginDevices) regions.push(...d.regions);
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
          this.#sent++;
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

  /** Applies pushed inputs by kind (`events.ts`). */
  readonly router: EventRouter = new EventRouter();

  /**
   * Hand a plugin replay event to the device that brings its kind, as a
   * backend or a device emitted it. Recorded at the current instruction;
   * ignored in a replay, where the log supplies the events.
   *
   * @param kind the event kind
   * @param payload the value, encoded by the kind's codec
   * @throws {PluginError} if no device on the board brings the kind
   */
  injectEvent(kind: string, payload: Uint8Array): void {
    if (this.#events.replaying) return;
    this.router.apply(kind, payload);
    this.#report(kind, payload);
  }

  /**
   * Apply a logged input (a replay): serial input, a warp or a plugin
   * event, at the current instruction count.
   *
   * @param event the input
   * @returns false if the machine could not take it (the UART FIFO was
   *   full), which means the replay diverged
   * @throws {PluginError} if no device brings its kind
   */
  applyInput(event: InputEvent): boolean {
    return this.router.apply(event.kind, event.payload);
  }

  /**
   * Read an input that a device asks for now (the host clock, entropy):
   * from the host, reported to the backend, or in a replay from the log.
   *
   * @param kind the kind
   * @param read reads it from the host
   * @returns the value
   */
  pull<T>(kind: EventKind<T>, read: () => T): T {
    const icount = this.cpu.icount;
    if (this.#events.replaying) {
      return kind.decode(this.#events.take!(kind.name, icount));
    }
    const v = read();
    this.#events.input?.({ kind: kind.name, icount, payload: kind.encode(v) });
    return v;
  }

  #report(kind: string, payload: Uint8Array): void {
    this.#events.input?.({ kind, icount: this.cpu.icount, payload });
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
    deliverCounts(this.cpu, this.#hooks); // counts not yet delivered
    for (const h of this.#hooks) h.vcpuExit?.();
    const info = Object.freeze({ icount: this.cpu.icount, reason });
    for (const h of this.#hooks) h.exit?.(info);
  }

  #outBuf: number[];
  #events: EventBackend;

  #rngSeed(mode: VirtMachineOptions["rngSeed"]): Uint8Array | undefined {
    if (mode === undefined || mode === "none") return undefined;
    if (mode instanceof Uint8Array) return mode;
    return this.pull(
      HOST_ENTROPY,
      () => crypto.getRandomValues(new Uint8Array(32)),
    );
  }
  #virtio: VirtioMmioSlot[];
  #nets: VirtioNet[] = [];
  /** Counts what the guest sent the host: serial bytes, network frames. */
  #sent = 0;
  /** `#sent` at the last host's turn (see `run`'s `hostTurn`). */
  #answered = 0;
  #netQueue: { nic: number; frame: Uint8Array }[] = [];

  /**
   * A frame arrived from the host for network card `nic` (a socket
   * backend): it reaches the card at the next instruction boundary of a
   * run, recorded there as a `NET_RX` input. Ignored in a replay, where the
   * log supplies the frames.
   *
   * @param nic the card's index among the board's network cards
   * @param frame the Ethernet frame
   */
  receiveFrame(nic: number, frame: Uint8Array): void {
    if (this.#events.replaying) return;
    this.#netQueue.push({ nic, frame });
  }

  #deliverFrames(): void {
    const q = this.#netQueue.splice(0);
    for (const f of q) this.injectEvent(NET_RX.name, NET_RX.encode(f));
  }

  /**
   * The virtio-mmio slots, 0 at 0x10001000 to 7 at 0x10008000.
   *
   * @returns the slots
   */
  get virtioSlots(): readonly VirtioMmioSlot[] {
    return this.#virtio;
  }

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
    if (this.#events.replaying) return; // input comes only from the log
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
    if (n > 0) this.#report(SERIAL_INPUT.name, Uint8Array.from(q.splice(0, n)));
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
    if (this.#events.replaying) return;
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
    this.#report(CLOCK_WARP.name, CLOCK_WARP.encode(clock.bias));
    clock.runExpired();
  }

  /** Reset the board as a guest-requested reboot does. */
  reset(): void {
    this.bus.ram8.fill(0);
    this.bus.ramWritten(0, this.bus.ram8.length); // behind the harts' backs
    this.#loadImages();
    this.uart.reset();
    this.clint.reset();
    this.plic.reset();
    this.rtc.reset();
    for (const v of this.#virtio) v.reset();
    for (const d of this.#pluginDevices) d.instance.reset();
    const icount = this.cpu.icount;
    this.cpu.reset(map.MROM_BASE);
    this.cpu.icount = icount; // time keeps going across a reboot
    this.#exit = undefined;
  }

  /**
   * Run up to `maxInsns` instructions, firing timers on the way: the
   * board's part of a run (slices cut at timer deadlines, serial input fed
   * as the FIFO has room, HTIF polled, a guest reset carried out). Looping
   * over this, with idling, warps and record/replay, is the runner's job
   * (`replay/runner.ts`).
   *
   * @param maxInsns instruction budget
   * @param options `warpIdle`: when the hart idles in `wfi`, jump the clock
   * to the next timer deadline instead of returning (QEMU's `sleep=off`).
   * `hostTurn` (with `warpIdle`): if the guest sent the host something
   * since the last such return (serial output, a network frame; in this run
   * or an earlier one) and then idles, return
   * `budget` early, before the jump, so that the host can answer (type at
   * the prompt, deliver a peer's reply) at this point of guest time, as
   * QEMU's host does while its vCPU idles; otherwise a prompt printed early
   * in a budget reaches the host only after the rest of the budget's idle
   * warps (seconds to minutes of guest time for an idle Linux)
   * @returns why it returned
   */
  run(
    maxInsns: number,
    options: { warpIdle?: boolean; hostTurn?: boolean } = {},
  ): RunResult {
    const cpu = this.cpu, clock = this.clock, htif = this.htif;
    // Type feedback for every case of the interpreter loop, once per process,
    // once a guest has run long enough and broadly enough to need it (short
    // runs and small programs pay nothing).
    if (cpu.icount >= WARM_UP_AT && cpu.codePagesDecoded >= WARM_UP_PAGES) {
      warmUpInterpreter();
    }
    let left = maxInsns;
    try {
      while (left > 0) {
        if (this.#input.length > 0) this.#feed();
        if (this.#netQueue.length > 0) this.#deliverFrames();
        const toDeadline = clock.insnsToDeadline();
        // While input waits for FIFO space, come back soon to offer it.
        const slice = this.#input.length > 0 || htif ? 10_000 : this.sliceInsns;
        const n = Math.min(left, slice, toDeadline);
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
        if (!this.#exit && reason === StopReason.TrapLoop) {
          this.#exit = {
            kind: "trap-loop",
            pc: cpu.getPc(),
            cause: cpu.readCsr(cpu.priv === PRIV_M ? "mcause" : "scause")!,
          };
        }
        if (this.#exit) {
          // Recorded, or checked against the log in a replay.
          this.#events.shutdown?.(this.#exit, cpu.icount);
          if (this.#exit.kind === "reset" && !this.#options.noReboot) {
            this.reset();
            continue;
          }
          return { kind: "exit", status: this.#exit };
        }
        if (reason === StopReason.Requested) return { kind: "stopped" };
        if (reason === StopReason.Idle && !cpu.wakeable) {
          if (this.#input.length > 0 && this.uart.rxSpace > 0) continue;
          const d = clock.nextDeadline();
          if (options.warpIdle && d !== Infinity) {
            if (options.hostTurn && this.#sent !== this.#answered) {
              this.#answered = this.#sent;
              return { kind: "budget" };
            }
            clock.warpTo(d);
            clock.runExpired();
            continue;
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
   * The machine's state at this instruction boundary, as the sections of a
   * {@linkcode MachineSnapshot} (RAM is a view, not a copy: hash it or copy
   * it before the machine runs on). The rrcheck state hash and
   * {@linkcode VirtMachine.stateHash} hash these same bytes, all but the
   * pending host input (not guest state yet).
   *
   * @returns the sections
   */
  snapshotParts(): MachineSnapshot {
    const devices: { name: string; state: Uint8Array }[] = [];
    for (const d of this.plugins.devices) {
      const state = this.plugins.saveState(d);
      if (state) devices.push({ name: d.name, state });
    }
    const exit = this.#exit;
    const board = new Uint8Array(21);
    const v = new DataView(board.buffer);
    if (exit) {
      v.setUint8(
        0,
        exit.kind === "poweroff" ? 1 : exit.kind === "reset" ? 2 : 3,
      );
      if (exit.kind === "trap-loop") {
        v.setBigUint64(5, exit.pc);
        v.setBigUint64(13, exit.cause);
      } else v.setInt32(1, exit.code);
    }
    return {
      hart: this.cpu.saveState(),
      clock: this.clock.saveState(),
      ram: this.bus.ram8,
      devices,
      board,
      pendingInput: Uint8Array.from(this.#input),
    };
  }

  /**
   * Save the whole machine: the hart, the clock and its timers, RAM, every
   * device (built-in, virtio, `-device` plugins) and the board's pending
   * input. `encodeSnapshot` (`snapshot.ts`) turns it into bytes.
   *
   * @returns the snapshot (a copy: the machine may run on)
   * @example Save, run on, go back
   * ```ts
   * import { VirtMachine } from "./virt.ts";
   * // addi a0, a0, 1 ; j .-4
   * const kernel = new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]);
   * const m = new VirtMachine({ bios: "none", kernel, memoryBytes: 1 << 20 });
   * m.run(100);
   * const snap = m.saveSnapshot();
   * m.run(100);
   * m.restoreSnapshot(snap);
   * console.log(m.cpu.icount); // 100
   * ```
   */
  saveSnapshot(): MachineSnapshot {
    const p = this.snapshotParts();
    return { ...p, ram: p.ram.slice() };
  }

  /**
   * Restore a snapshot of this machine's configuration (the same RAM size,
   * devices and clock timers).
   *
   * @param s what {@linkcode VirtMachine.saveSnapshot} or `decodeSnapshot`
   *   returned
   * @param options `ramInPlace`: the caller has put the snapshot's RAM in
   *   place already and told the bus which pages it changed
   *   (`bus.ramWritten`), so `s.ram` is not copied (time travel restores
   *   only the pages that differ)
   * @throws {RangeError} if it does not fit this machine
   */
  restoreSnapshot(
    s: MachineSnapshot,
    options: { ramInPlace?: boolean } = {},
  ): void {
    if (s.ram.length !== this.bus.ramSize) {
      throw new RangeError(
        `Cannot restore the snapshot: it has ${s.ram.length} bytes of RAM, this machine ${this.bus.ramSize}; use the same -m`,
      );
    }
    const byName = new Map(this.plugins.devices.map((d) => [d.name, d]));
    for (const d of s.devices) {
      if (!byName.has(d.name)) {
        throw new RangeError(
          `Cannot restore the snapshot: it has device ${d.name}, which this machine does not; add the same -device options`,
        );
      }
    }
    if (!options.ramInPlace) {
      this.bus.ram8.set(s.ram);
      this.bus.ramWritten(0, s.ram.length); // behind the harts' backs
    }
    this.cpu.loadState(s.hart); // after RAM: drops the decoded pages
    this.clock.loadState(s.clock);
    for (const d of s.devices) {
      this.plugins.loadState(byName.get(d.name)!, d.state);
    }
    // The clock's timers are authoritative, whatever a device re-armed.
    this.clock.loadState(s.clock);
    const v = new DataView(s.board.buffer, s.board.byteOffset, s.board.length);
    const kind = v.getUint8(0);
    this.#exit = kind === 0
      ? undefined
      : kind === 3
      ? { kind: "trap-loop", pc: v.getBigUint64(5), cause: v.getBigUint64(13) }
      : { kind: kind === 1 ? "poweroff" : "reset", code: v.getInt32(1) };
    this.#input = [...s.pendingInput];
  }

  /**
   * A SHA-256 over the machine's state: the same sections as a snapshot
   * ({@linkcode VirtMachine.snapshotParts}): the hart, the clock and its
   * timers, the board, RAM and every device.
   *
   * @returns the hash as hexadecimal
   */
  async stateHash(): Promise<string> {
    const p = this.snapshotParts();
    const parts = [p.hart, p.clock, p.board, p.ram];
    const enc = new TextEncoder();
    for (const d of p.devices) parts.push(enc.encode(d.name), d.state);
    const all = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
    let off = 0;
    for (const b of parts) {
      all.set(b, off);
      off += b.length;
    }
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** The generated (or given) device tree blob. */
  get fdt(): Uint8Array {
    return this.#fdt;
  }
}
