/**
 * Named machine snapshots on disk (`savevm NAME`, `loadvm NAME`,
 * `-icount ...,rrsnapshot=NAME`): one file per snapshot, in a folder beside
 * the replay log, `LOG.snapshots/NAME.djsnap`.
 *
 * The format (little-endian):
 *
 * - magic `DJSF`, format version (u32, {@linkcode SNAPSHOT_FILE_VERSION});
 * - a JSON header (u32 length, UTF-8): the snapshot's `name`, its
 *   instruction count `icount`, the machine configuration it needs
 *   (`config`, as the log records it) and the identity of the log it belongs
 *   to (`log`: SHA-256 of the log's header and its configuration event, the
 *   first bytes a recording writes, so that a snapshot taken as the
 *   recording starts can name it; `null` without a log). Version 1 files
 *   (which hashed the log's first 64 KiB) are refused with a message to
 *   take them again;
 * - sections, each: tag (u8), flags (u8: 1 = deflate-raw compressed),
 *   stored length (u32), raw length (u32), CRC-32 of the stored bytes (u32),
 *   then the bytes. Tags: 1 hart, 2 clock, 3 board, 4 pending input,
 *   5 a device (u16 name length, name, state), 6 RAM (u32 RAM size, u32 page
 *   count, that many u32 page numbers, then those 4 KiB pages: only pages
 *   that are not all zero);
 * - an end section: tag 255, then the file's total length (u32).
 *
 * A section is compressed only when that makes it smaller. Loading checks
 * everything and names what is wrong and where: a cut-short file, a section
 * whose checksum does not match (with its byte offset), another format
 * version, another machine configuration, another log.
 *
 * @module
 */

import type * as NodeZlib from "node:zlib";
import type * as NodeCrypto from "node:crypto";
import type { MachineSnapshot } from "../devices/snapshot.ts";
import { ReplayLogReader } from "./log.ts";

/** Version of the snapshot file format. */
export const SNAPSHOT_FILE_VERSION = 2;

const MAGIC = 0x46534a44; // "DJSF" little-endian
const PAGE = 4096;
const TAG = {
  hart: 1,
  clock: 2,
  board: 3,
  pending: 4,
  device: 5,
  ram: 6,
  end: 255,
} as const;

/** What a snapshot file says about itself. */
export interface SnapshotFileInfo {
  /** The snapshot's name. */
  readonly name: string;
  /** The instruction count it was taken at. */
  readonly icount: number;
  /** The machine configuration (as the replay log records it). */
  readonly config: unknown;
  /** The log's identity ({@linkcode logIdentity}), or null without a log. */
  readonly log: string | null;
}

/** A snapshot file that cannot be loaded; the message says why. */
export class SnapshotFileError extends Error {
  /**
   * Make the error.
   *
   * @param message what is wrong, and the fix
   */
  constructor(message: string) {
    super(message);
    this.name = "SnapshotFileError";
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE) of some bytes.
 *
 * @param b the bytes
 * @returns the checksum
 */
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) {
    c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

// zlib and SHA-256 come from the runtime's node:zlib and node:crypto,
// synchronous (the vCPU worker saves and loads while paused). They are
// loaded on first use, through process.getBuiltinModule, not imported:
// the first Node module a thread loads costs it about 15 ms of setup,
// and every run of deja would pay that twice (main thread and vCPU worker)
// for snapshots that most runs never take.
const nodeModules = new Map<string, unknown>();
function nodeModule<T>(id: "node:zlib" | "node:crypto"): T {
  let m = nodeModules.get(id);
  if (m === undefined) {
    const p = (globalThis as {
      process?: { getBuiltinModule?: (id: string) => unknown };
    }).process;
    m = p?.getBuiltinModule?.(id);
    if (m === undefined) {
      throw new Error(
        `Cannot load ${id}: this runtime lacks process.getBuiltinModule; run deja with Deno 2.9 or later`,
      );
    }
    nodeModules.set(id, m);
  }
  return m as T;
}

function sha256(): NodeCrypto.Hash {
  return nodeModule<typeof NodeCrypto>("node:crypto").createHash("sha256");
}

function deflate(b: Uint8Array): Uint8Array {
  return new Uint8Array(
    nodeModule<typeof NodeZlib>("node:zlib").deflateRawSync(b),
  );
}

function inflate(b: Uint8Array): Uint8Array {
  return new Uint8Array(
    nodeModule<typeof NodeZlib>("node:zlib").inflateRawSync(b),
  );
}

/**
 * The identity of a replay log: SHA-256 of its header and its first event
 * (the machine configuration), as hex. A recording writes these first, so
 * the identity is known from its start.
 *
 * @param log the log's bytes (at least its header and configuration event)
 * @returns the identity
 * @throws {SnapshotFileError} if the bytes do not start with a log header
 *   and an event
 */
export function logIdentity(log: Uint8Array): string {
  let end: number;
  try {
    const r = new ReplayLogReader(log);
    if (r.next() === undefined) throw new Error("no event");
    end = r.offset;
  } catch (err) {
    throw new SnapshotFileError(
      `Cannot identify the replay log: it does not start with a header and a configuration event (${
        (err as Error).message
      })`,
    );
  }
  return sha256().update(log.subarray(0, end)).digest("hex");
}

/**
 * A digest of a machine snapshot's contents (every section, RAM included),
 * as hex: what a log that starts from a snapshot names it by (a branched
 * timeline's configuration, `cli/go_live.ts`), independent of how the file
 * is compressed.
 *
 * @param s the machine snapshot
 * @returns SHA-256 of its sections, as hex
 * @example The same snapshot, the same digest
 * ```ts
 * import { snapshotDigest } from "./snapshot_file.ts";
 * const s = {
 *   hart: new Uint8Array([1]), clock: new Uint8Array([2]), ram: new Uint8Array(8192),
 *   devices: [{ name: "uart", state: new Uint8Array([3]) }],
 *   board: new Uint8Array(21), pendingInput: new Uint8Array(),
 * };
 * console.log(snapshotDigest(s) === snapshotDigest({ ...s, ram: new Uint8Array(8192) })); // true
 * ```
 */
export function snapshotDigest(s: MachineSnapshot): string {
  const h = sha256();
  const len = new Uint8Array(4);
  const lv = new DataView(len.buffer);
  const part = (b: Uint8Array) => {
    lv.setUint32(0, b.length, true);
    h.update(len);
    h.update(b);
  };
  const enc = new TextEncoder();
  part(s.hart);
  part(s.clock);
  part(s.board);
  part(s.pendingInput);
  for (const d of s.devices) {
    part(enc.encode(d.name));
    part(d.state);
  }
  part(s.ram);
  return h.digest("hex");
}

/**
 * Where snapshot `name` of the log at `logPath` lives.
 *
 * @param logPath the replay log's path
 * @param name the snapshot's name
 * @returns the path
 * @throws {SnapshotFileError} for a name that is not a plain file name
 */
export function snapshotPath(logPath: string, name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || name.startsWith(".")) {
    throw new SnapshotFileError(
      `Cannot use ${
        JSON.stringify(name)
      } as a snapshot name: use letters, digits, '_', '-' and '.' (up to 64, not starting with '.')`,
    );
  }
  return `${logPath}.snapshots/${name}.djsnap`;
}

/**
 * Encode a machine snapshot as a snapshot file.
 *
 * @param s the machine snapshot
 * @param info its name, instruction count, configuration and log
 * @returns the file's bytes
 * @example Round trip
 * ```ts
 * import { decodeSnapshotFile, encodeSnapshotFile } from "./snapshot_file.ts";
 * const s = {
 *   hart: new Uint8Array([1]), clock: new Uint8Array([2]), ram: new Uint8Array(8192),
 *   devices: [{ name: "uart", state: new Uint8Array([3]) }],
 *   board: new Uint8Array(21), pendingInput: new Uint8Array(),
 * };
 * s.ram[5000] = 7;
 * const info = { name: "boot", icount: 42, config: { memoryBytes: 8192 }, log: null };
 * const bytes = encodeSnapshotFile(s, info);
 * const back = decodeSnapshotFile(bytes);
 * console.log(back.info.icount, back.snapshot.ram[5000]); // 42 7
 * ```
 */
export function encodeSnapshotFile(
  s: MachineSnapshot,
  info: SnapshotFileInfo,
): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(12);
  const hv = new DataView(head.buffer);
  const json = enc.encode(JSON.stringify(info));
  hv.setUint32(0, MAGIC, true);
  hv.setUint32(4, SNAPSHOT_FILE_VERSION, true);
  hv.setUint32(8, json.length, true);
  parts.push(head, json);
  const section = (tag: number, raw: Uint8Array) => {
    const packed = raw.length > 64 ? deflate(raw) : raw;
    const use = packed.length < raw.length ? packed : raw;
    const h = new Uint8Array(14);
    const v = new DataView(h.buffer);
    v.setUint8(0, tag);
    v.setUint8(1, use === raw ? 0 : 1);
    v.setUint32(2, use.length, true);
    v.setUint32(6, raw.length, true);
    v.setUint32(10, crc32(use), true);
    parts.push(h, use);
  };
  section(TAG.hart, s.hart);
  section(TAG.clock, s.clock);
  section(TAG.board, s.board);
  section(TAG.pending, s.pendingInput);
  for (const d of s.devices) {
    const n = enc.encode(d.name);
    const b = new Uint8Array(2 + n.length + d.state.length);
    new DataView(b.buffer).setUint16(0, n.length, true);
    b.set(n, 2);
    b.set(d.state, 2 + n.length);
    section(TAG.device, b);
  }
  // RAM: the pages that are not all zero.
  const pages: number[] = [];
  const count = Math.ceil(s.ram.length / PAGE);
  for (let p = 0; p < count; p++) {
    const end = Math.min(s.ram.length, (p + 1) * PAGE);
    for (let i = p * PAGE; i < end; i++) {
      if (s.ram[i] !== 0) {
        pages.push(p);
        break;
      }
    }
  }
  const ram = new Uint8Array(8 + 4 * pages.length + PAGE * pages.length);
  const rv = new DataView(ram.buffer);
  rv.setUint32(0, s.ram.length, true);
  rv.setUint32(4, pages.length, true);
  let at = 8 + 4 * pages.length;
  pages.forEach((p, i) => {
    rv.setUint32(8 + 4 * i, p, true);
    ram.set(
      s.ram.subarray(p * PAGE, Math.min(s.ram.length, (p + 1) * PAGE)),
      at,
    );
    at += PAGE;
  });
  section(TAG.ram, ram);
  let total = 5;
  for (const p of parts) total += p.length;
  const end = new Uint8Array(5);
  end[0] = TAG.end;
  new DataView(end.buffer).setUint32(1, total, true);
  parts.push(end);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** What the loader checks the file against. */
export interface SnapshotExpectation {
  /** The machine configuration it must have been taken on. */
  config?: unknown;
  /** The log it must belong to ({@linkcode logIdentity}). */
  log?: string;
  /** Names the file in errors. */
  path?: string;
}

function configDifference(a: unknown, b: unknown, at = ""): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (
    a && b && typeof a === "object" && typeof b === "object" &&
    !Array.isArray(a) && !Array.isArray(b)
  ) {
    const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      const d = configDifference(ra[k], rb[k], at ? `${at}.${k}` : k);
      if (d) return d;
    }
  }
  return `${at || "the configuration"}: the snapshot has ${
    JSON.stringify(a)?.slice(0, 80)
  }, this machine ${JSON.stringify(b)?.slice(0, 80)}`;
}

/**
 * Decode and check a snapshot file.
 *
 * @param bytes the file's bytes
 * @param expect the configuration and log it must match
 * @returns what it says about itself, and the machine snapshot
 * @throws {SnapshotFileError} if it is cut short, corrupt (naming the byte
 *   offset), of another version, or of another configuration or log
 */
export function decodeSnapshotFile(
  bytes: Uint8Array,
  expect: SnapshotExpectation = {},
): { info: SnapshotFileInfo; snapshot: MachineSnapshot } {
  const what = `Cannot load the snapshot${
    expect.path ? ` ${expect.path}` : ""
  }`;
  const fail = (why: string): never => {
    throw new SnapshotFileError(`${what}: ${why}`);
  };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (bytes.length < 12 || v.getUint32(0, true) !== MAGIC) {
    fail("not a deja snapshot file (bad magic at byte 0)");
  }
  const version = v.getUint32(4, true);
  if (version !== SNAPSHOT_FILE_VERSION) {
    fail(
      `format version ${version}, and this build reads version ${SNAPSHOT_FILE_VERSION}; take the snapshot again with this build`,
    );
  }
  const jsonLen = v.getUint32(8, true);
  if (12 + jsonLen > bytes.length) {
    fail(`it is cut short in its header (${bytes.length} bytes)`);
  }
  let info: SnapshotFileInfo;
  try {
    info = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(12, 12 + jsonLen),
      ),
    );
  } catch {
    return fail("its header (bytes 12 on) is corrupt");
  }
  if (typeof info.icount !== "number" || typeof info.name !== "string") {
    fail("its header (bytes 12 on) is corrupt");
  }
  if ("config" in expect) {
    const d = configDifference(info.config, expect.config);
    if (d) {
      fail(
        `it was taken on another machine configuration (${d}); use the options it was taken with`,
      );
    }
  }
  if (expect.log !== undefined && info.log !== expect.log) {
    fail(
      "it belongs to another recording (the log's identity differs); load it with the log it was taken from",
    );
  }
  const dec = new TextDecoder();
  const s: {
    hart?: Uint8Array;
    clock?: Uint8Array;
    board?: Uint8Array;
    pendingInput?: Uint8Array;
    ram?: Uint8Array;
    devices: { name: string; state: Uint8Array }[];
  } = { devices: [] };
  let p = 12 + jsonLen;
  for (;;) {
    if (p + 1 > bytes.length) fail(`it is cut short at byte ${p}`);
    const tag = bytes[p]!;
    if (tag === TAG.end) {
      if (p + 5 > bytes.length) fail(`it is cut short at byte ${p}`);
      const total = v.getUint32(p + 1, true);
      if (total !== bytes.length || p + 5 !== bytes.length) {
        fail(
          `its length is ${bytes.length} bytes, and its end section at byte ${p} says ${total}`,
        );
      }
      break;
    }
    if (p + 14 > bytes.length) fail(`it is cut short at byte ${p}`);
    const flags = bytes[p + 1]!;
    const stored = v.getUint32(p + 2, true), raw = v.getUint32(p + 6, true);
    const crc = v.getUint32(p + 10, true);
    const body = p + 14;
    if (body + stored > bytes.length) {
      fail(`it is cut short in the section at byte ${p}`);
    }
    const data = bytes.subarray(body, body + stored);
    if (crc32(data) !== crc) {
      fail(
        `it is corrupt: the section at byte ${p} (tag ${tag}, bytes ${body} to ${
          body + stored
        }) does not match its checksum`,
      );
    }
    let b = data;
    if (flags & 1) {
      try {
        b = inflate(data);
      } catch {
        fail(`it is corrupt: the section at byte ${p} does not decompress`);
      }
    }
    if (b.length !== raw) {
      fail(`it is corrupt: the section at byte ${p} has the wrong length`);
    }
    switch (tag) {
      case TAG.hart:
        s.hart = b;
        break;
      case TAG.clock:
        s.clock = b;
        break;
      case TAG.board:
        s.board = b;
        break;
      case TAG.pending:
        s.pendingInput = b;
        break;
      case TAG.device: {
        const n = new DataView(b.buffer, b.byteOffset).getUint16(0, true);
        s.devices.push({
          name: dec.decode(b.subarray(2, 2 + n)),
          state: b.slice(2 + n),
        });
        break;
      }
      case TAG.ram: {
        const rv = new DataView(b.buffer, b.byteOffset, b.length);
        const size = rv.getUint32(0, true), count = rv.getUint32(4, true);
        if (8 + count * (4 + PAGE) !== b.length) {
          fail(`it is corrupt: the RAM section at byte ${p} is inconsistent`);
        }
        const ram = new Uint8Array(size);
        let at = 8 + 4 * count;
        for (let i = 0; i < count; i++) {
          const page = rv.getUint32(8 + 4 * i, true);
          if (page * PAGE >= size) {
            fail(
              `it is corrupt: the RAM section at byte ${p} has page ${page}`,
            );
          }
          ram.set(
            b.subarray(at, at + Math.min(PAGE, size - page * PAGE)),
            page * PAGE,
          );
          at += PAGE;
        }
        s.ram = ram;
        break;
      }
      default:
        fail(`it is corrupt: unknown section tag ${tag} at byte ${p}`);
    }
    p = body + stored;
  }
  if (!s.hart || !s.clock || !s.board || !s.pendingInput || !s.ram) {
    fail("a section is missing (hart, clock, board, pending input or RAM)");
  }
  return {
    info,
    snapshot: {
      hart: s.hart!,
      clock: s.clock!,
      board: s.board!,
      pendingInput: s.pendingInput!,
      ram: s.ram!,
      devices: s.devices,
    },
  };
}
