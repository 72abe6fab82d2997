/**
 * A machine snapshot: everything a `virt` machine needs to go on from an
 * instruction boundary. The hart (`Cpu.saveState`), the clock and its timers
 * (`VirtualClock.saveState`), RAM, every device on the plugin host (built-in,
 * virtio and `-device` plugins, each through its declared state), the
 * board's own state (the exit status), and host input that the machine holds
 * but the guest has not seen yet (serial input waiting for FIFO room).
 *
 * {@linkcode encodeSnapshot} and {@linkcode decodeSnapshot} give it a
 * versioned byte form, and the rrcheck state hash (`replay/state_hash.ts`)
 * hashes the same sections, so that "the same snapshot" and "the same hash"
 * mean the same thing; all but the pending host input, which is not guest
 * state yet (a replay gets that input from the log when it enters).
 *
 * @module
 */

/** Version of the byte form written by {@linkcode encodeSnapshot}. */
export const SNAPSHOT_VERSION = 1;

const MAGIC = 0x534d4a44; // "DJMS" little-endian

/** A machine's state at an instruction boundary. */
export interface MachineSnapshot {
  /** The hart (`Cpu.saveState`). */
  readonly hart: Uint8Array;
  /** The clock and its timers (`VirtualClock.saveState`). */
  readonly clock: Uint8Array;
  /** Guest RAM. */
  readonly ram: Uint8Array;
  /** Each device with declared state, by instance name, in board order. */
  readonly devices: readonly {
    readonly name: string;
    readonly state: Uint8Array;
  }[];
  /** The board: the exit status. */
  readonly board: Uint8Array;
  /** Serial input the host sent that has not entered the UART yet. */
  readonly pendingInput: Uint8Array;
}

/**
 * Encode a snapshot as bytes: magic `DJMS`, version, then the hart, clock,
 * board and RAM sections (u32 length and bytes each), then the device count
 * and each device (u16 name length, name, u32 length, bytes), then the
 * pending input (u32 length, bytes); little-endian.
 *
 * @param s the snapshot
 * @returns the bytes
 * @example Round trip
 * ```ts
 * import { decodeSnapshot, encodeSnapshot } from "./snapshot.ts";
 * const s = {
 *   hart: new Uint8Array([1]), clock: new Uint8Array([2]), ram: new Uint8Array(8),
 *   devices: [{ name: "uart", state: new Uint8Array([3]) }],
 *   board: new Uint8Array(21), pendingInput: new Uint8Array(),
 * };
 * console.log(decodeSnapshot(encodeSnapshot(s)).devices[0]!.name); // "uart"
 * ```
 */
export function encodeSnapshot(s: MachineSnapshot): Uint8Array {
  const enc = new TextEncoder();
  const names = s.devices.map((d) => enc.encode(d.name));
  let size = 8 + 4 * 4 + s.hart.length + s.clock.length + s.board.length +
    s.ram.length + 4 + 4 + s.pendingInput.length;
  for (let i = 0; i < names.length; i++) {
    size += 2 + names[i]!.length + 4 + s.devices[i]!.state.length;
  }
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, SNAPSHOT_VERSION, true);
  let p = 8;
  for (const part of [s.hart, s.clock, s.board, s.ram]) {
    v.setUint32(p, part.length, true);
    out.set(part, p + 4);
    p += 4 + part.length;
  }
  v.setUint32(p, names.length, true);
  p += 4;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!, st = s.devices[i]!.state;
    v.setUint16(p, n.length, true);
    out.set(n, p + 2);
    p += 2 + n.length;
    v.setUint32(p, st.length, true);
    out.set(st, p + 4);
    p += 4 + st.length;
  }
  v.setUint32(p, s.pendingInput.length, true);
  out.set(s.pendingInput, p + 4);
  return out;
}

/**
 * Decode what {@linkcode encodeSnapshot} wrote.
 *
 * @param bytes the bytes
 * @returns the snapshot (its sections are views into `bytes`)
 * @throws {SyntaxError} if the bytes are not a deja machine snapshot
 * @throws {RangeError} if the version is not this build's or a section is cut
 * @example Refuse bytes that are not a snapshot
 * ```ts
 * import { decodeSnapshot } from "./snapshot.ts";
 * try {
 *   decodeSnapshot(new Uint8Array(4));
 * } catch (e) {
 *   console.log((e as Error).name); // SyntaxError
 * }
 * ```
 */
export function decodeSnapshot(bytes: Uint8Array): MachineSnapshot {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length < 8 || v.getUint32(0, true) !== MAGIC) {
    throw new SyntaxError(
      "Cannot load the machine snapshot: not a deja machine snapshot (bad magic or too short; expected what encodeSnapshot writes)",
    );
  }
  const version = v.getUint32(4, true);
  if (version !== SNAPSHOT_VERSION) {
    throw new RangeError(
      `Cannot load the machine snapshot: version ${version} is not supported (this build reads version ${SNAPSHOT_VERSION})`,
    );
  }
  let p = 8;
  const need = (n: number, what: string) => {
    if (p + n > bytes.length) {
      throw new RangeError(
        `Cannot load the machine snapshot: it is cut short in ${what} (byte ${p} of ${bytes.length})`,
      );
    }
  };
  const section = (what: string): Uint8Array => {
    need(4, what);
    const n = v.getUint32(p, true);
    need(4 + n, what);
    const out = bytes.subarray(p + 4, p + 4 + n);
    p += 4 + n;
    return out;
  };
  const hart = section("the hart");
  const clock = section("the clock");
  const board = section("the board");
  const ram = section("RAM");
  need(4, "the device count");
  const count = v.getUint32(p, true);
  p += 4;
  const dec = new TextDecoder();
  const devices: { name: string; state: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    need(2, `device ${i}`);
    const n = v.getUint16(p, true);
    need(2 + n, `device ${i}`);
    const name = dec.decode(bytes.subarray(p + 2, p + 2 + n));
    p += 2 + n;
    devices.push({ name, state: section(`device ${name}`) });
  }
  const pendingInput = section("the pending input");
  if (p !== bytes.length) {
    throw new RangeError(
      `Cannot load the machine snapshot: ${
        bytes.length - p
      } bytes follow the pending input`,
    );
  }
  return { hart, clock, ram, devices, board, pendingInput };
}
