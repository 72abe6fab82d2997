/**
 * The minimal core of deja: the hart, the physical bus, the virtual clock,
 * interrupt wiring, the ELF loader and the FDT builder. Nothing in the core
 * does host I/O, so it runs with no Deno permissions at all.
 *
 * @example Build a bus and a hart, and run a tiny program
 * ```ts
 * import { Bus, Cpu, VirtualClock } from "./mod.ts";
 * const bus = new Bus(1 << 20);
 * let cpu: Cpu | undefined;
 * const clock = new VirtualClock(() => cpu?.icount ?? 0);
 * cpu = new Cpu({ bus, clock });
 * bus.load(0x8000_0000, new Uint8Array([0x73, 0x00, 0x50, 0x10])); // wfi
 * cpu.reset(0x8000_0000);
 * cpu.run(10);
 * if (!cpu.waiting) throw new Error("unreachable");
 * ```
 *
 * @module
 */

export * from "./bus.ts";
export * from "./clock.ts";
export * from "./cpu.ts";
export * from "./csr.ts";
export * from "./elf.ts";
export * from "./fdt.ts";
export * from "./hart_state.ts";
export * from "./irq.ts";
export * from "./memory_map.ts";
