/**
 * deja: a RISC-V system emulator for Deno, built for deterministic
 * record and replay.
 *
 * As a command, `mod.ts` accepts QEMU's options:
 *
 * ```sh
 * deno run --allow-read=/usr/lib mod.ts -M virt -nographic \
 *   -bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf \
 *   -kernel /usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin
 * ```
 *
 * As a library, it exports the machine so that tests can run a guest in
 * process, with no host I/O at all, and `record` / `replay` /
 * `assertReplayMatches` to record a session into a replay log (QEMU's
 * `-icount rr=record` format) and check that it replays exactly.
 *
 * @example Run a guest that powers off at once
 * ```ts
 * import { VirtMachine } from "./mod.ts";
 * // li t0, 0x100000 ; li t1, 0x5555 ; sw t1, 0(t0)
 * const kernel = new Uint8Array([
 *   0xb7, 0x02, 0x10, 0x00, 0x37, 0x53, 0x00, 0x00, 0x1b, 0x03, 0x53, 0x55,
 *   0x23, 0xa0, 0x62, 0x00,
 * ]);
 * const m = new VirtMachine({ bios: "none", kernel, memoryBytes: 1 << 20 });
 * const r = m.run(1_000);
 * if (r.kind !== "exit" || r.status.kind !== "poweroff") throw new Error("unreachable");
 * ```
 *
 * @module
 */

export { VirtMachine } from "./devices/virt.ts";
export type {
  ExitStatus,
  RunResult,
  VirtMachineOptions,
} from "./devices/virt.ts";
export { Cpu, PRIV_M, PRIV_S, PRIV_U, StopReason } from "./core/cpu.ts";
export { Bus } from "./core/bus.ts";
export type { MmioRegion } from "./core/bus.ts";
export { VirtualClock, VirtualTimer } from "./core/clock.ts";
export { assertReplayMatches, record, replay } from "./replay/session.ts";
export type {
  InputContext,
  Recording,
  RecordOptions,
  ReplayOptions,
  ReplayResult,
  SessionMachineOptions,
  SessionResult,
} from "./replay/session.ts";
export { arraySource, ReplayDivergenceError } from "./replay/nondet.ts";
export { Runner } from "./replay/runner.ts";
export type {
  RunnerOptions,
  RunSnapshot,
  StateChecks,
} from "./replay/runner.ts";
export { decodeSnapshot, encodeSnapshot } from "./devices/snapshot.ts";
export type { MachineSnapshot } from "./devices/snapshot.ts";
export {
  CLOCK_WARP,
  defineEventKind,
  HOST_CLOCK,
  HOST_ENTROPY,
  SERIAL_INPUT,
} from "./devices/events.ts";
export type { EventBackend, EventKind, InputEvent } from "./devices/events.ts";
export { ReplayConfigError } from "./replay/config.ts";
export { StateHashMismatchError } from "./replay/machine_log.ts";
export {
  ReplayLogError,
  ReplayLogReader,
  ReplayLogTruncatedError,
} from "./replay/log.ts";
export type { NondetEvent, NondetSource } from "./replay/nondet.ts";
export { main } from "./cli/main.ts";
export type { MainOptions } from "./cli/main.ts";

if (import.meta.main) {
  const { main } = await import("./cli/main.ts");
  Deno.exit(await main(Deno.args));
}
