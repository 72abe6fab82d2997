/**
 * Declared device state: QEMU's `VMStateDescription`, typed. A device
 * declares its state as named fields of fixed types with a version, and the
 * core turns it into bytes and back without knowing the device.
 *
 * The declaration carries two of QEMU's rules for replay-safe devices
 * (`docs/devel/replay`):
 *
 * - `postLoad` never reaches another device, because the order in which
 *   devices are restored is not defined. Here `postLoad` is a function of the
 *   decoded fields alone: it gets a copy of the device's own state and
 *   returns it (fixed up), and it has no device, bus or board to touch.
 * - Timers that change guest state use the virtual clock. A device's context
 *   ({@linkcode DeviceContext}) offers only the virtual clock, so a deadline
 *   in the state is a virtual time and means the same after a restore.
 *
 * ## Byte layout
 *
 * A saved state is: the UTF-8 name (u16 length first), the version (u32),
 * the number of fields (u16), then each field as its UTF-8 name (u16 length
 * first), its type tag (u8) and its value. Integers are little-endian.
 * Naming every field makes a saved state self-describing, so a restore names
 * the field that is missing or of the wrong type.
 *
 * @example Declare, save and restore a counter's state
 * ```ts
 * import { decodeState, defineState, encodeState } from "./state.ts";
 * const counterState = defineState({
 *   name: "counter",
 *   version: 1,
 *   fields: { count: "u32", label: "string", history: "bytes" },
 * });
 * const bytes = encodeState(counterState, {
 *   count: 7,
 *   label: "hits",
 *   history: new Uint8Array([1, 2, 3]),
 * });
 * const back = decodeState(counterState, bytes);
 * console.log(back.count, back.label, back.history); // 7 hits Uint8Array(3) [ 1, 2, 3 ]
 * ```
 *
 * @module
 */

/** The type of one state field. */
export type StateFieldType =
  | "u8"
  | "u16"
  | "u32"
  | "i32"
  | "int"
  | "f64"
  | "bool"
  | "u64"
  | "string"
  | "bytes"
  | "u32[]"
  | "i32[]";

/** The JavaScript value of a field type. */
export type StateFieldValue<T extends StateFieldType> = T extends
  "u8" | "u16" | "u32" | "i32" | "int" | "f64" ? number
  : T extends "bool" ? boolean
  : T extends "u64" ? bigint
  : T extends "string" ? string
  : T extends "bytes" ? Uint8Array
  : T extends "u32[]" | "i32[]" ? number[]
  : never;

/** Field name to field type. */
export type StateFields = { readonly [name: string]: StateFieldType };

/** The values of a state: one property per declared field. */
export type StateValues<F extends StateFields> = {
  -readonly [K in keyof F]: StateFieldValue<F[K]>;
};

/** A device's state declaration. */
export interface StateDescription<F extends StateFields = StateFields> {
  /** The name stored with the state; a restore checks it. */
  readonly name: string;
  /**
   * The layout version. Raise it when the fields change; a restore of
   * another version is refused (or goes through `upgrade`).
   */
  readonly version: number;
  /** The fields, in the order they are stored. */
  readonly fields: F;
  /**
   * Turn a state saved by an older version into this version's values.
   * Gets the older version number and its decoded fields by name.
   */
  upgrade?(
    from: number,
    old: Readonly<Record<string, unknown>>,
  ): StateValues<F>;
  /**
   * Fix up the values after they are decoded and before the device takes
   * them. It gets only this device's own state (a copy) and returns the
   * state to load: it cannot reach another device, whose restore may not
   * have happened yet.
   */
  postLoad?(state: StateValues<F>): StateValues<F>;
}

/**
 * Declare a device state, keeping the field types.
 *
 * @param description the declaration
 * @returns the same object
 * @example A state with a virtual-time deadline
 * ```ts
 * import { defineState } from "./state.ts";
 * const s = defineState({
 *   name: "blinker",
 *   version: 1,
 *   fields: { on: "bool", nextToggleNs: "int" },
 * });
 * console.log(Object.keys(s.fields)); // ["on", "nextToggleNs"]
 * ```
 */
export function defineState<const F extends StateFields>(
  description: StateDescription<F>,
): StateDescription<F> {
  return description;
}

const TAGS: readonly StateFieldType[] = [
  "u8",
  "u16",
  "u32",
  "i32",
  "int",
  "f64",
  "bool",
  "u64",
  "string",
  "bytes",
  "u32[]",
  "i32[]",
];

/**
 * A saved state does not fit its declaration: wrong name or version, a
 * missing field, a field of the wrong type, or bytes that do not parse.
 */
export class StateError extends TypeError {
  /**
   * Create the error.
   *
   * @param state the state's name
   * @param detail what is wrong
   */
  constructor(state: string, detail: string) {
    super(`Cannot restore ${state} state: ${detail}`);
    this.name = "StateError";
  }
}

class Writer {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  #len = 0;
  #room(n: number): number {
    const at = this.#len;
    if (at + n > this.#buf.length) {
      const b = new Uint8Array(Math.max(this.#buf.length * 2, at + n));
      b.set(this.#buf.subarray(0, at));
      this.#buf = b;
      this.#view = new DataView(b.buffer);
    }
    this.#len = at + n;
    return at;
  }
  u8(v: number): void {
    const at = this.#room(1);
    this.#view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.#room(2);
    this.#view.setUint16(at, v, true);
  }
  u32(v: number): void {
    const at = this.#room(4);
    this.#view.setUint32(at, v, true);
  }
  i32(v: number): void {
    const at = this.#room(4);
    this.#view.setInt32(at, v, true);
  }
  f64(v: number): void {
    const at = this.#room(8);
    this.#view.setFloat64(at, v, true);
  }
  i64(v: bigint): void {
    const at = this.#room(8);
    this.#view.setBigInt64(at, v, true);
  }
  u64(v: bigint): void {
    const at = this.#room(8);
    this.#view.setBigUint64(at, v, true);
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    const at = this.#room(b.length);
    this.#buf.set(b, at);
  }
  str(s: string): void {
    const b = utf8.encode(s);
    this.u16(b.length);
    const at = this.#room(b.length);
    this.#buf.set(b, at);
  }
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder("utf-8", { fatal: true });

function checkValue(
  state: string,
  name: string,
  type: StateFieldType,
  v: unknown,
  err: (state: string, detail: string) => Error,
): void {
  const bad = (what: string) =>
    err(state, `field ${name} is ${describe(v)}; expected ${what}`);
  const intIn = (lo: number, hi: number) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
      throw bad(`an integer from ${lo} to ${hi}`);
    }
  };
  switch (type) {
    case "u8":
      return intIn(0, 0xff);
    case "u16":
      return intIn(0, 0xffff);
    case "u32":
      return intIn(0, 0xffff_ffff);
    case "i32":
      return intIn(-0x8000_0000, 0x7fff_ffff);
    case "int":
      return intIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    case "f64":
      if (typeof v !== "number") throw bad("a number");
      return;
    case "bool":
      if (typeof v !== "boolean") throw bad("a boolean");
      return;
    case "u64":
      if (typeof v !== "bigint" || v < 0n || v >= 1n << 64n) {
        throw bad("a bigint from 0 to 2^64 - 1");
      }
      return;
    case "string":
      if (typeof v !== "string") throw bad("a string");
      return;
    case "bytes":
      if (!(v instanceof Uint8Array)) throw bad("a Uint8Array");
      return;
    case "u32[]":
      if (
        !Array.isArray(v) ||
        !v.every((x) =>
          typeof x === "number" && Number.isInteger(x) && x >= 0 &&
          x <= 0xffff_ffff
        )
      ) throw bad("an array of integers from 0 to 2^32 - 1");
      return;
    case "i32[]":
      if (
        !Array.isArray(v) ||
        !v.every((x) =>
          typeof x === "number" && Number.isInteger(x) &&
          x >= -0x8000_0000 && x <= 0x7fff_ffff
        )
      ) throw bad("an array of integers from -2^31 to 2^31 - 1");
      return;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (v instanceof Uint8Array) return `a Uint8Array of ${v.length} bytes`;
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return `a ${typeof v}`;
}

/**
 * Encode a device state as bytes, checking each field against its declared
 * type.
 *
 * @param description the declaration
 * @param values the device's values
 * @returns the bytes
 * @throws {TypeError} if a field is missing or does not fit its type (the
 * message names the field)
 * @example See the module example
 * ```ts
 * import { defineState, encodeState } from "./state.ts";
 * const s = defineState({ name: "x", version: 1, fields: { a: "u8" } });
 * console.log(encodeState(s, { a: 1 }).length); // 16
 * ```
 */
export function encodeState<F extends StateFields>(
  description: StateDescription<F>,
  values: StateValues<F>,
): Uint8Array {
  const w = new Writer();
  w.str(description.name);
  w.u32(description.version);
  const entries = Object.entries(description.fields);
  w.u16(entries.length);
  const vals = values as Record<string, unknown>;
  const saveErr = (state: string, detail: string) =>
    new TypeError(`Cannot save ${state} state: ${detail}`);
  for (const [name, type] of entries) {
    const v = vals[name];
    checkValue(description.name, name, type, v, saveErr);
    w.str(name);
    w.u8(TAGS.indexOf(type));
    switch (type) {
      case "u8":
        w.u8(v as number);
        break;
      case "u16":
        w.u16(v as number);
        break;
      case "u32":
        w.u32(v as number);
        break;
      case "i32":
        w.i32(v as number);
        break;
      case "int":
        w.i64(BigInt(v as number));
        break;
      case "f64":
        w.f64(v as number);
        break;
      case "bool":
        w.u8(v ? 1 : 0);
        break;
      case "u64":
        w.u64(v as bigint);
        break;
      case "string":
        w.bytes(utf8.encode(v as string));
        break;
      case "bytes":
        w.bytes(v as Uint8Array);
        break;
      case "u32[]": {
        const a = v as number[];
        w.u32(a.length);
        for (const x of a) w.u32(x);
        break;
      }
      case "i32[]": {
        const a = v as number[];
        w.u32(a.length);
        for (const x of a) w.i32(x);
        break;
      }
    }
  }
  return w.finish();
}

/**
 * Decode a saved state against a declaration. A state of an older version
 * goes through `upgrade` when the declaration has one; then `postLoad` (if
 * any) gets the values and returns the ones to load.
 *
 * @param description the declaration
 * @param bytes the saved state
 * @returns the values, ready for the device
 * @throws {StateError} if the name, version or a field does not match, or
 * the bytes are malformed
 * @example Refuse a state of another device
 * ```ts
 * import { decodeState, defineState, encodeState, StateError } from "./state.ts";
 * const a = defineState({ name: "a", version: 1, fields: { x: "u8" } });
 * const b = defineState({ name: "b", version: 1, fields: { x: "u8" } });
 * try {
 *   decodeState(b, encodeState(a, { x: 1 }));
 * } catch (e) {
 *   if (!(e instanceof StateError)) throw e;
 *   console.log(e.message); // Cannot restore b state: the bytes hold the state of a
 * }
 * ```
 */
export function decodeState<F extends StateFields>(
  description: StateDescription<F>,
  bytes: Uint8Array,
): StateValues<F> {
  const name = description.name;
  const fail = (detail: string): never => {
    throw new StateError(name, detail);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let pos = 0;
  const need = (n: number): number => {
    if (pos + n > bytes.length) {
      fail(`the bytes end at ${bytes.length}, inside a field`);
    }
    const at = pos;
    pos += n;
    return at;
  };
  const str = (): string => {
    const n = view.getUint16(need(2), true);
    const at = need(n);
    try {
      return utf8d.decode(bytes.subarray(at, at + n));
    } catch {
      return fail(`byte ${at}: a name is not UTF-8`);
    }
  };
  const stored = str();
  if (stored !== name) fail(`the bytes hold the state of ${stored}`);
  const version = view.getUint32(need(4), true);
  const count = view.getUint16(need(2), true);
  const got: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const field = str();
    const tagAt = need(1);
    const type = TAGS[view.getUint8(tagAt)];
    if (!type) fail(`byte ${tagAt}: field ${field} has an unknown type tag`);
    let v: unknown;
    switch (type!) {
      case "u8":
        v = view.getUint8(need(1));
        break;
      case "u16":
        v = view.getUint16(need(2), true);
        break;
      case "u32":
        v = view.getUint32(need(4), true);
        break;
      case "i32":
        v = view.getInt32(need(4), true);
        break;
      case "int":
        v = Number(view.getBigInt64(need(8), true));
        break;
      case "f64":
        v = view.getFloat64(need(8), true);
        break;
      case "bool":
        v = view.getUint8(need(1)) !== 0;
        break;
      case "u64":
        v = view.getBigUint64(need(8), true);
        break;
      case "string":
      case "bytes": {
        const n = view.getUint32(need(4), true);
        const at = need(n);
        const b = bytes.slice(at, at + n);
        if (type === "bytes") v = b;
        else {
          try {
            v = utf8d.decode(b);
          } catch {
            fail(`field ${field} is not UTF-8`);
          }
        }
        break;
      }
      case "u32[]":
      case "i32[]": {
        const n = view.getUint32(need(4), true);
        if (n * 4 > bytes.length - pos) fail(`field ${field} is cut short`);
        const a: number[] = [];
        for (let j = 0; j < n; j++) {
          const at = need(4);
          a.push(
            type === "u32[]"
              ? view.getUint32(at, true)
              : view.getInt32(at, true),
          );
        }
        v = a;
        break;
      }
    }
    got[field] = { type, v };
  }
  if (pos !== bytes.length) {
    fail(`${bytes.length - pos} bytes follow the last field`);
  }
  let values: Record<string, unknown>;
  if (version !== description.version) {
    if (!description.upgrade || version > description.version) {
      fail(
        `the bytes are version ${version}, this device reads version ${description.version}`,
      );
    }
    const old: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(got)) {
      old[k] = (e as { v: unknown }).v;
    }
    values = description.upgrade!(version, old) as Record<string, unknown>;
  } else {
    values = {};
    for (const [field, type] of Object.entries(description.fields)) {
      const e = got[field] as { type: StateFieldType; v: unknown } | undefined;
      if (!e) fail(`field ${field} is missing`);
      if (e!.type !== type) {
        fail(`field ${field} is stored as ${e!.type}; expected ${type}`);
      }
      values[field] = e!.v;
    }
    for (const field of Object.keys(got)) {
      if (!Object.hasOwn(description.fields, field)) {
        fail(`field ${field} is not declared in version ${version}`);
      }
    }
  }
  for (const [field, type] of Object.entries(description.fields)) {
    checkValue(
      name,
      field,
      type,
      values[field],
      (s, d) => new StateError(s, d),
    );
  }
  const typed = values as StateValues<F>;
  return description.postLoad ? description.postLoad(typed) : typed;
}

/**
 * The power-on values of a declared state: 0 for numbers, `false`, `0n`,
 * `""`, an empty `Uint8Array` and empty arrays. A device keeps its live
 * state in such an object (`instance.state`), so that the declaration is the
 * only place that lists its fields: the host saves and restores that object.
 *
 * @param description the declaration
 * @param initial values to start from instead of the zero ones
 * @returns a fresh values object, with the fields in declaration order
 * @example A counter's state object
 * ```ts
 * import { defineState, newState } from "./state.ts";
 * const counterState = defineState({
 *   name: "counter",
 *   version: 1,
 *   fields: { count: "u32", history: "u32[]" },
 * });
 * const s = newState(counterState, { count: 5 });
 * s.history.push(1);
 * console.log(s); // { count: 5, history: [ 1 ] }
 * ```
 */
export function newState<F extends StateFields>(
  description: StateDescription<F>,
  initial: Partial<StateValues<F>> = {},
): StateValues<F> {
  const out: Record<string, unknown> = {};
  const init = initial as Record<string, unknown>;
  for (const [name, type] of Object.entries(description.fields)) {
    out[name] = Object.hasOwn(init, name) ? init[name] : zero(type);
  }
  return out as StateValues<F>;
}

function zero(type: StateFieldType): unknown {
  switch (type) {
    case "bool":
      return false;
    case "u64":
      return 0n;
    case "string":
      return "";
    case "bytes":
      return new Uint8Array(0);
    case "u32[]":
    case "i32[]":
      return [];
    default:
      return 0;
  }
}

/**
 * Put restored values into a device's live state object, field by field,
 * so that the object (which the device's closures hold) stays the same.
 *
 * @param target the device's `state`
 * @param values what {@linkcode decodeState} returned
 * @example Restore into the live object
 * ```ts
 * import { assignState, defineState, newState } from "./state.ts";
 * const d = defineState({ name: "d", version: 1, fields: { n: "u8" } });
 * const live = newState(d);
 * assignState(live, { n: 3 });
 * console.log(live.n); // 3
 * ```
 */
export function assignState<F extends StateFields>(
  target: StateValues<F>,
  values: StateValues<F>,
): void {
  Object.assign(target, values);
}

/**
 * A state as plain JSON-able data: `u64` fields as decimal strings, `bytes`
 * as arrays of numbers, the rest as they are, in declaration order. This is
 * the record that the built-in devices' `saveState()` returned before their
 * state was declared once, and that `rrcheck` hashes of older logs cover.
 *
 * @param description the declaration
 * @param values the values
 * @returns the record
 * @example
 * ```ts
 * import { defineState, stateRecord } from "./state.ts";
 * const d = defineState({ name: "d", version: 1, fields: { t: "u64", b: "bytes" } });
 * console.log(stateRecord(d, { t: 5n, b: Uint8Array.of(1) })); // { t: "5", b: [ 1 ] }
 * ```
 */
export function stateRecord<F extends StateFields>(
  description: StateDescription<F>,
  values: StateValues<F>,
): Record<string, number | string | boolean | number[]> {
  const out: Record<string, number | string | boolean | number[]> = {};
  const vals = values as Record<string, unknown>;
  for (const [name, type] of Object.entries(description.fields)) {
    const v = vals[name];
    out[name] = type === "u64"
      ? (v as bigint).toString()
      : type === "bytes"
      ? Array.from(v as Uint8Array)
      : Array.isArray(v)
      ? [...v]
      : v as number | string | boolean;
  }
  return out;
}

/** A timer as a device holds it (the virtual clock's `VirtualTimer`). */
export interface SavedTimer {
  /** The deadline in virtual ns, `Infinity` when disarmed. */
  readonly deadline: number;
  /**
   * Arm it.
   *
   * @param deadlineNs when it fires
   */
  mod(deadlineNs: number): void;
  /** Disarm it. */
  del(): void;
}

/**
 * A timer's deadline as a state field holds it: virtual ns, or -1 when the
 * timer is disarmed. For `beforeSave`.
 *
 * @param timer the timer
 * @returns the deadline, or -1
 * @example
 * ```ts
 * import { timerDeadline } from "./state.ts";
 * console.log(timerDeadline({ deadline: Infinity, mod() {}, del() {} })); // -1
 * ```
 */
export function timerDeadline(timer: SavedTimer | undefined): number {
  const d = timer?.deadline ?? Infinity;
  return d === Infinity ? -1 : d;
}

/**
 * Re-arm a timer from a restored deadline field (-1: disarm). For
 * `afterLoad`.
 *
 * @param timer the timer
 * @param deadlineNs the field's value
 * @example
 * ```ts
 * import { rearmTimer } from "./state.ts";
 * let at = Infinity;
 * rearmTimer({ deadline: at, mod: (ns) => void (at = ns), del: () => void (at = Infinity) }, 500);
 * console.log(at); // 500
 * ```
 */
export function rearmTimer(
  timer: SavedTimer | undefined,
  deadlineNs: number,
): void {
  if (deadlineNs < 0) timer?.del();
  else timer?.mod(deadlineNs);
}
