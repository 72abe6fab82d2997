/**
 * Hashes of the parts of a machine's state, for `rrcheck`: the recording
 * stores them every N instructions and the replay compares, so that a
 * divergence is caught near where it happened and the part that differs is
 * named.
 *
 * The hash is a fast 128-bit non-cryptographic one (four 32-bit
 * multiply-rotate lanes over 32-bit words, then a final mix). It only has to
 * tell two states of the same machine apart, and it runs synchronously in the
 * vCPU worker, where hashing 128 MiB of RAM must take milliseconds.
 *
 * @module
 */

import type { VirtMachine } from "../devices/virt.ts";
import { legacyStateRecords } from "../devices/builtin_plugins.ts";
import {
  STATE_HASH_PART_NAMES,
  STATE_HASH_SIZE,
  type StateHashPart,
} from "./log.ts";
import { concatBytes } from "./bytes.ts";

const P1 = 0x9e3779b1 | 0, P2 = 0x85ebca77 | 0, P3 = 0xc2b2ae3d | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  return h ^ (h >>> 16);
}

/**
 * Hash bytes to {@linkcode STATE_HASH_SIZE} bytes.
 *
 * @param bytes what to hash
 * @returns the 16-byte hash
 * @example Two inputs that differ in one bit
 * ```ts
 * import { hash128 } from "./state_hash.ts";
 * const a = hash128(new Uint8Array(64));
 * const b = hash128(new Uint8Array(64).fill(1, 63));
 * if (a.every((v, i) => v === b[i])) throw new Error("unreachable");
 * ```
 */
export function hash128(bytes: Uint8Array): Uint8Array {
  const words = bytes.length >>> 2;
  const aligned = (bytes.byteOffset & 3) === 0;
  const w = aligned
    ? new Int32Array(bytes.buffer, bytes.byteOffset, words)
    : new Int32Array(bytes.slice(0, words * 4).buffer);
  let a = 1, b = 2, c = 3, d = 4;
  const quads = words & ~3;
  for (let i = 0; i < quads; i += 4) {
    a = Math.imul(rotl(a ^ Math.imul(w[i]!, P1), 13), P2);
    b = Math.imul(rotl(b ^ Math.imul(w[i + 1]!, P1), 15), P3);
    c = Math.imul(rotl(c ^ Math.imul(w[i + 2]!, P2), 17), P1);
    d = Math.imul(rotl(d ^ Math.imul(w[i + 3]!, P3), 19), P2);
  }
  for (let i = quads; i < words; i++) {
    a = Math.imul(rotl(a ^ Math.imul(w[i]!, P1), 13), P2);
  }
  for (let i = words * 4; i < bytes.length; i++) {
    b = Math.imul(rotl(b ^ bytes[i]!, 11), P1);
  }
  const len = bytes.length | 0;
  a = fmix(a ^ len);
  b = fmix(b ^ a);
  c = fmix(c ^ b);
  d = fmix(d ^ c);
  a = fmix(a ^ d);
  const out = new Uint8Array(STATE_HASH_SIZE);
  const v = new DataView(out.buffer);
  v.setInt32(0, a);
  v.setInt32(4, b);
  v.setInt32(8, c);
  v.setInt32(12, d);
  return out;
}

function numbers(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float64Array.from(values).buffer);
}

/**
 * The state hash's version: 2 hashes the sections of the machine snapshot
 * (`VirtMachine.snapshotParts`): the hart's saved state split into integer
 * registers, FP registers and the rest, RAM, and the clock, board and every
 * device (virtio and `-device` plugins included). Version 1 (logs recorded
 * before the snapshot existed, whose configuration has no `stateHash`)
 * hashed a hand-picked set of hart fields and five built-in devices as
 * JSON; a replay of such a log checks its hashes the old way.
 */
export const STATE_HASH_VERSION = 2;

/**
 * The state hash version a log uses, from its configuration.
 *
 * @param config the log's configuration
 * @returns 2 for logs that say so, 1 for older ones
 */
export function stateHashVersion(
  config: Readonly<Record<string, unknown>>,
): 1 | 2 {
  return config["stateHash"] === 2 ? 2 : 1;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Version 2: the parts, over the snapshot's sections. */
function snapshotPartBytes(m: VirtMachine): Record<StateHashPart, Uint8Array> {
  const p = m.snapshotParts(); // also brings the hart state up to date
  const st = m.cpu.state;
  const all = st.bytes;
  const xStart = st.x.byteOffset - all.byteOffset;
  const fEnd = st.f.byteOffset - all.byteOffset + st.f.byteLength;
  const enc = new TextEncoder();
  const devices: Uint8Array[] = [p.clock, p.board];
  for (const d of p.devices) {
    const name = enc.encode(d.name);
    const len = new Uint8Array(8);
    new DataView(len.buffer).setUint32(0, name.length);
    new DataView(len.buffer).setUint32(4, d.state.length);
    devices.push(len, name, d.state);
  }
  return {
    ram: p.ram,
    xregs: bytesOf(st.x),
    fregs: bytesOf(st.f),
    csrs: concatBytes([all.subarray(0, xStart), all.subarray(fEnd)]),
    devices: concatBytes(devices),
  };
}

/** Version 1, for logs recorded before the machine snapshot. */
function legacyPartBytes(m: VirtMachine, part: StateHashPart): Uint8Array {
  const cpu = m.cpu;
  switch (part) {
    case "ram":
      return m.bus.ram8;
    case "xregs":
      return concatBytes([
        new Uint8Array(cpu.x.buffer, cpu.x.byteOffset, 64 * 4),
        numbers([Number(cpu.getPc())]),
      ]);
    case "fregs":
      return concatBytes([
        new Uint8Array(cpu.f.buffer, cpu.f.byteOffset, cpu.f.byteLength),
        numbers([cpu.fcsr]),
      ]);
    case "csrs":
      return concatBytes([
        numbers([
          cpu.priv,
          cpu.icount,
          cpu.waiting ? 1 : 0,
          cpu.mstatus,
          cpu.mie,
          cpu.mip,
          cpu.mideleg,
          cpu.medeleg,
          cpu.mcounteren,
          cpu.scounteren,
          cpu.mcountinhibit,
          cpu.satpMode,
          cpu.satpPpn,
          cpu.satpAsid,
          cpu.stimecmp,
        ]),
        new Uint8Array(cpu.csr64.slice().buffer),
        cpu.pmpcfg.slice(),
        new Uint8Array(cpu.pmpaddr.slice().buffer),
      ]);
    case "devices":
      return new TextEncoder().encode(JSON.stringify({
        clock: m.clock.bias,
        ...legacyStateRecords(m),
      }));
  }
}

/**
 * Hash each part of a machine's state: RAM, the integer registers, the FP
 * registers, the rest of the hart (pc, privilege, icount, CSRs), and the
 * clock, board and devices; from version 2 on, over the sections of the
 * machine snapshot.
 *
 * @param machine the machine
 * @param version {@linkcode STATE_HASH_VERSION}, or 1 for an old log
 * @returns one hash per part, in the order of
 *   {@linkcode STATE_HASH_PART_NAMES}
 * @example Hash a fresh machine
 * ```ts
 * import { VirtMachine } from "../devices/virt.ts";
 * import { stateHashes } from "./state_hash.ts";
 * const m = new VirtMachine({ memoryBytes: 1 << 20 });
 * console.log(stateHashes(m).map((h) => h.part)); // ["ram", "xregs", "fregs", "csrs", "devices"]
 * ```
 */
export function stateHashes(
  machine: VirtMachine,
  version: 1 | 2 = STATE_HASH_VERSION,
): { part: StateHashPart; hash: Uint8Array }[] {
  const parts = version === 2 ? snapshotPartBytes(machine) : undefined;
  return STATE_HASH_PART_NAMES.map((part) => ({
    part,
    hash: hash128(parts ? parts[part] : legacyPartBytes(machine, part)),
  }));
}
