/**
 * The device tree of the `virt` board with one hart.
 *
 * Reference: QEMU's `hw/riscv/virt.c` (`create_fdt*`, `finalize_fdt`) and
 * `hw/riscv/boot.c` (`/chosen` properties), and the Linux bindings for each
 * node. Nodes and properties come in the order that QEMU 7.2's
 * `-M virt,dumpdtb=` output has (libfdt prepends, so it is the reverse of
 * the order QEMU adds them), so that decompiling both with
 * `dtc -I dtb -O dts` and diffing shows only these differences:
 *
 * - Not described because deja has no such device: `/pmu`, `/fw-cfg@10100000`,
 *   `/flash@20000000`, `/platform-bus@4000000` and `/soc/pci@30000000`.
 * - `/cpus/cpu@0`: `riscv,isa` is ours, not QEMU's default CPU; `mmu-type` is
 *   `riscv,sv39` (QEMU: sv48 in 7.2, sv57 later); `riscv,isa-base` and
 *   `riscv,isa-extensions` are present, as QEMU 9 writes them (7.2 does not).
 * - `/soc/plic@c000000`: `riscv,ndev` is 95, the highest source number, as
 *   QEMU writes it since 8.0 (7.2 wrote 96).
 * - `/chosen`: `rng-seed` only when a seed is given (QEMU always writes 32
 *   random bytes), and `linux,initrd-start`/`-end` are 64-bit, as QEMU writes
 *   them since 8.0 (7.2 wrote one cell).
 *
 * @module
 */

import { FdtBuilder } from "../core/fdt.ts";
import {
  CLINT_BASE,
  CLINT_SIZE,
  PLIC_BASE,
  PLIC_NUM_SOURCES,
  PLIC_SIZE,
  RTC_BASE,
  RTC_IRQ,
  RTC_SIZE,
  TEST_BASE,
  TEST_SIZE,
  TIMEBASE_FREQ,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
  VIRTIO_BASE,
  VIRTIO_COUNT,
  VIRTIO_IRQ,
  VIRTIO_SIZE,
} from "../core/memory_map.ts";

/** Interrupt numbers in `mip`, as `interrupts-extended` cites them. */
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;
/** The UART's reference clock that the device tree advertises. */
const UART_CLOCK_FREQ = 3686400;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;

/** Options for {@linkcode buildVirtFdt}. */
export interface VirtFdtOptions {
  /** Physical base address of RAM (`DRAM_BASE`). */
  ramBase: number;
  /** RAM size in bytes. */
  ramSize: number;
  /**
   * The kernel command line, as `/chosen/bootargs`.
   *
   * @default {undefined}
   */
  bootargs?: string;
  /**
   * Where the initial RAM disk was loaded, as `/chosen/linux,initrd-*`.
   *
   * @default {undefined}
   */
  initrd?: { start: number; end: number };
  /**
   * The ISA string, as `riscv,isa`; `riscv,isa-base` and
   * `riscv,isa-extensions` are derived from it.
   *
   * @default {"rv64imafdc_zicsr_zifencei_zihintpause"}
   */
  isa?: string;
  /**
   * Bytes for `/chosen/rng-seed`.
   *
   * @default {undefined}
   */
  rngSeed?: Uint8Array;
  /**
   * Plugin devices (`-device`): one node each under `/soc`, with `reg`,
   * `compatible` and, with an `irq`, `interrupts` on the PLIC.
   *
   * @default {[]}
   */
  devices?: readonly {
    name: string;
    compatible: string;
    base: number;
    size: number;
    irq?: number;
  }[];
}

/**
 * Describe the `virt` board with one hart as a DTB.
 *
 * @example Build the tree for 128 MiB of RAM
 * ```ts
 * import { buildVirtFdt } from "./virt_fdt.ts";
 * const dtb = buildVirtFdt({
 *   ramBase: 0x8000_0000,
 *   ramSize: 128 << 20,
 *   bootargs: "console=ttyS0",
 * });
 * if (new DataView(dtb.buffer).getUint32(0) !== 0xd00dfeed) {
 *   throw new Error("unreachable");
 * }
 * ```
 *
 * @param options RAM and boot parameters
 * @returns the DTB
 * @throws {SyntaxError} if `isa` is not an ISA string such as `rv64imac_zicsr`
 * @throws {RangeError} if an address or size is not an unsigned 64-bit integer
 */
export function buildVirtFdt(options: VirtFdtOptions): Uint8Array {
  const isa = options.isa ?? "rv64imafdc_zicsr_zifencei_zihintpause";
  const { base, extensions } = parseIsa(isa);
  const fdt = new FdtBuilder();
  const cpuPhandle = fdt.allocPhandle();
  const intcPhandle = fdt.allocPhandle();
  const plicPhandle = fdt.allocPhandle();
  const testPhandle = fdt.allocPhandle();
  const reg = (addr: number, size: number) => [addr, size];

  fdt.beginNode("")
    .propU32("#address-cells", 2)
    .propU32("#size-cells", 2)
    .propStr("compatible", "riscv-virtio")
    .propStr("model", "riscv-virtio,qemu");

  fdt.beginNode("chosen");
  if (options.initrd) {
    fdt.propU64("linux,initrd-end", options.initrd.end);
    fdt.propU64("linux,initrd-start", options.initrd.start);
  }
  if (options.rngSeed) fdt.prop("rng-seed", options.rngSeed);
  if (options.bootargs !== undefined) {
    fdt.propStr("bootargs", options.bootargs);
  }
  fdt.propStr("stdout-path", `/soc/serial@${hex(UART0_BASE)}`).endNode();

  fdt.beginNode("poweroff")
    .propU32("value", FINISHER_PASS)
    .propU32("offset", 0)
    .propU32("regmap", testPhandle)
    .propStr("compatible", "syscon-poweroff")
    .endNode();
  fdt.beginNode("reboot")
    .propU32("value", FINISHER_RESET)
    .propU32("offset", 0)
    .propU32("regmap", testPhandle)
    .propStr("compatible", "syscon-reboot")
    .endNode();

  fdt.beginNode(`memory@${hex(options.ramBase)}`)
    .propStr("device_type", "memory")
    .propU64("reg", reg(options.ramBase, options.ramSize))
    .endNode();

  fdt.beginNode("cpus")
    .propU32("#address-cells", 1)
    .propU32("#size-cells", 0)
    .propU32("timebase-frequency", TIMEBASE_FREQ);
  fdt.beginNode("cpu@0")
    .propU32("phandle", cpuPhandle)
    .propStr("device_type", "cpu")
    .propU32("reg", 0)
    .propStr("status", "okay")
    .propStr("compatible", "riscv")
    .propStrList("riscv,isa-extensions", extensions)
    .propStr("riscv,isa-base", base)
    .propStr("riscv,isa", isa)
    .propStr("mmu-type", "riscv,sv39");
  fdt.beginNode("interrupt-controller")
    .propU32("#interrupt-cells", 1)
    .prop("interrupt-controller")
    .propStr("compatible", "riscv,cpu-intc")
    .propU32("phandle", intcPhandle)
    .endNode();
  fdt.endNode();
  fdt.beginNode("cpu-map").beginNode("cluster0").beginNode("core0")
    .propU32("cpu", cpuPhandle)
    .endNode().endNode().endNode();
  fdt.endNode();

  fdt.beginNode("soc")
    .propU32("#address-cells", 2)
    .propU32("#size-cells", 2)
    .propStr("compatible", "simple-bus")
    .prop("ranges");

  fdt.beginNode(`rtc@${hex(RTC_BASE)}`)
    .propU32("interrupts", RTC_IRQ)
    .propU32("interrupt-parent", plicPhandle)
    .propU64("reg", reg(RTC_BASE, RTC_SIZE))
    .propStr("compatible", "google,goldfish-rtc")
    .endNode();

  fdt.beginNode(`serial@${hex(UART0_BASE)}`)
    .propU32("interrupts", UART0_IRQ)
    .propU32("interrupt-parent", plicPhandle)
    .propU32("clock-frequency", UART_CLOCK_FREQ)
    .propU64("reg", reg(UART0_BASE, UART0_SIZE))
    .propStr("compatible", "ns16550a")
    .endNode();

  fdt.beginNode(`test@${hex(TEST_BASE)}`)
    .propU32("phandle", testPhandle)
    .propU64("reg", reg(TEST_BASE, TEST_SIZE))
    .propStrList("compatible", ["sifive,test1", "sifive,test0", "syscon"])
    .endNode();

  for (let i = VIRTIO_COUNT - 1; i >= 0; i--) {
    const addr = VIRTIO_BASE + i * VIRTIO_SIZE;
    fdt.beginNode(`virtio_mmio@${hex(addr)}`)
      .propU32("interrupts", VIRTIO_IRQ + i)
      .propU32("interrupt-parent", plicPhandle)
      .propU64("reg", reg(addr, VIRTIO_SIZE))
      .propStr("compatible", "virtio,mmio")
      .endNode();
  }

  for (const d of options.devices ?? []) {
    const node = d.name.replace(/[^A-Za-z0-9,._+-]/g, "-");
    fdt.beginNode(`${node}@${hex(d.base)}`);
    if (d.irq !== undefined) {
      fdt.propU32("interrupts", d.irq)
        .propU32("interrupt-parent", plicPhandle);
    }
    fdt.propU64("reg", reg(d.base, d.size))
      .propStr("compatible", d.compatible)
      .endNode();
  }

  fdt.beginNode(`plic@${hex(PLIC_BASE)}`)
    .propU32("phandle", plicPhandle)
    .propU32("riscv,ndev", PLIC_NUM_SOURCES - 1)
    .propU64("reg", reg(PLIC_BASE, PLIC_SIZE))
    .propU32("interrupts-extended", [
      intcPhandle,
      IRQ_M_EXT,
      intcPhandle,
      IRQ_S_EXT,
    ])
    .prop("interrupt-controller")
    .propStrList("compatible", ["sifive,plic-1.0.0", "riscv,plic0"])
    .propU32("#address-cells", 0)
    .propU32("#interrupt-cells", 1)
    .endNode();

  fdt.beginNode(`clint@${hex(CLINT_BASE)}`)
    .propU32("interrupts-extended", [
      intcPhandle,
      IRQ_M_SOFT,
      intcPhandle,
      IRQ_M_TIMER,
    ])
    .propU64("reg", reg(CLINT_BASE, CLINT_SIZE))
    .propStrList("compatible", ["sifive,clint0", "riscv,clint0"])
    .endNode();

  fdt.endNode(); // soc
  fdt.endNode(); // root
  return fdt.finish();
}

function hex(n: number): string {
  return n.toString(16);
}

/**
 * Split an ISA string into `riscv,isa-base` and `riscv,isa-extensions`:
 * `rv64imac_zicsr` gives `rv64i` and `i m a c zicsr`.
 */
function parseIsa(isa: string): { base: string; extensions: string[] } {
  const m = /^rv(32|64)([a-y]+)((?:_[a-z][a-z0-9]*)*)$/.exec(isa);
  if (!m || !/^[ie]/.test(m[2]!)) {
    throw new SyntaxError(
      `Cannot describe the CPU: ${JSON.stringify(isa)} is not an ISA string ` +
        "like rv64imafdc_zicsr",
    );
  }
  const extensions = [...m[2]!];
  for (const ext of m[3]!.split("_")) if (ext) extensions.push(ext);
  return { base: `rv${m[1]}${m[2]![0]}`, extensions };
}
