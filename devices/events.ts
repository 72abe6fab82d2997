/**
 * The machine's nondeterministic inputs, as one event system: every input
 * that does not come from the guest (serial input, the host clock, host
 * entropy, clock warps of an idle hart, and each plugin's events) is an
 * {@linkcode EventKind}: a name and a codec. The machine reports each input
 * as an {@linkcode InputEvent} (kind, instruction count, encoded payload) to
 * its {@linkcode EventBackend}, or takes it from there in a replay; the
 * replay layer (`replay/`) logs and replays these without knowing what they
 * mean.
 *
 * Devices never see the backend: they get frontends (QEMU's chardev split).
 * The UART has a character frontend (bytes enter its receive FIFO as the
 * machine feeds them), the RTC a host-clock frontend (a function that reads
 * the host clock through the backend).
 *
 * Adding a source is one registration: define its kind with
 * {@linkcode defineEventKind}, and either pull it where a device reads it
 * ({@linkcode VirtMachine} `pull`) or register how a pushed value applies
 * ({@linkcode EventRouter.register}). A kind with no older log form is
 * logged as a named deja plugin event (ids 0xd0 up).
 *
 * @module
 */

/** A kind of nondeterministic input: its name and its codec. */
export interface EventKind<T> {
  /** The name, unique on a machine (`serial`, `sensor.reading`, ...). */
  readonly name: string;
  /**
   * Encode a value for the log.
   *
   * @param value the value
   * @returns its bytes
   */
  encode(value: T): Uint8Array;
  /**
   * Decode a value from the log.
   *
   * @param bytes what {@linkcode EventKind.encode} returned
   * @returns the value
   * @throws {RangeError} if the bytes do not hold a value of this kind
   */
  decode(bytes: Uint8Array): T;
}

/**
 * Define an event kind.
 *
 * @param name the kind's name
 * @param codec how its values become bytes and back
 * @returns the kind
 * @example A 32-bit counter
 * ```ts
 * import { defineEventKind } from "./events.ts";
 * const ticks = defineEventKind<number>("ticks", {
 *   encode: (v) => new Uint8Array(new Uint32Array([v]).buffer),
 *   decode: (b) => new Uint32Array(b.slice(0, 4).buffer)[0]!,
 * });
 * console.log(ticks.decode(ticks.encode(7))); // 7
 * ```
 */
export function defineEventKind<T>(
  name: string,
  codec: Pick<EventKind<T>, "encode" | "decode">,
): EventKind<T> {
  return Object.freeze({
    name,
    encode: codec.encode,
    decode: codec.decode,
  });
}

function i64(what: string): Pick<EventKind<bigint>, "encode" | "decode"> {
  return {
    encode: (v) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, v);
      return b;
    },
    decode: (b) => {
      if (b.length !== 8) {
        throw new RangeError(
          `Cannot decode ${what}: expected 8 bytes, got ${b.length}`,
        );
      }
      return new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0);
    },
  };
}

const bytesCodec: Pick<EventKind<Uint8Array>, "encode" | "decode"> = {
  encode: (v) => v,
  decode: (b) => b,
};

/** Bytes that entered the UART receive FIFO (the serial console's input). */
export const SERIAL_INPUT: EventKind<Uint8Array> = defineEventKind(
  "serial",
  bytesCodec,
);

/** A reading of the host's wall clock, in ns since the epoch (the RTC's). */
export const HOST_CLOCK: EventKind<bigint> = defineEventKind(
  "host-clock",
  i64("a host clock reading"),
);

/** Host entropy (the device tree's `/chosen/rng-seed`). */
export const HOST_ENTROPY: EventKind<Uint8Array> = defineEventKind(
  "random",
  bytesCodec,
);

/**
 * An idle hart's clock moved by real time (`sleep=on`, `shift=auto`): the
 * clock's bias afterwards, in virtual ns.
 */
export const CLOCK_WARP: EventKind<number> = (() => {
  const c = i64("a clock warp");
  return defineEventKind<number>("warp", {
    encode: (v) => c.encode(BigInt(Math.round(v))),
    decode: (b) => Number(c.decode(b)),
  });
})();

/** A frame that arrived for a network card (`virtio-net`). */
export interface NetFrame {
  /** Which card: its index among the board's network cards. */
  readonly nic: number;
  /** The Ethernet frame. */
  readonly frame: Uint8Array;
}

/**
 * A frame from the network backend to a network card (QEMU's filter-replay:
 * logged with its instruction count; in a replay the backend is off and the
 * frames come from the log). Logged as a named deja event.
 */
export const NET_RX: EventKind<NetFrame> = defineEventKind("net-rx", {
  encode: (v) => {
    const b = new Uint8Array(1 + v.frame.length);
    b[0] = v.nic;
    b.set(v.frame, 1);
    return b;
  },
  decode: (b) => {
    if (b.length < 15) {
      throw new RangeError(
        `Cannot decode a network frame: expected at least 15 bytes (the card number and a 14-byte Ethernet header), got ${b.length}`,
      );
    }
    return { nic: b[0]!, frame: b.subarray(1) };
  },
});

/** The machine's own input kinds (plugins bring theirs). */
export const CORE_INPUT_KINDS: readonly EventKind<unknown>[] = [
  SERIAL_INPUT,
  HOST_CLOCK,
  HOST_ENTROPY,
  CLOCK_WARP,
  NET_RX,
] as EventKind<unknown>[];

/** One input, at the instruction count at which it took effect. */
export interface InputEvent {
  /** The kind's name. */
  readonly kind: string;
  /** The instruction count. */
  readonly icount: number;
  /** The value, encoded by the kind's codec. */
  readonly payload: Uint8Array;
}

/** How a run of the machine ended. */
export type ExitStatus =
  | { kind: "poweroff"; code: number }
  | { kind: "reset"; code: number }
  | { kind: "trap-loop"; pc: bigint; cause: bigint };

/**
 * Where a machine's inputs come from and go: the host (optionally
 * reporting every input, to be recorded) or a log (a replay).
 */
export interface EventBackend {
  /**
   * True in a replay: inputs come only from the log, so the machine
   * ignores host input (`sendInput`, `injectEvent`, `idleFor`) and asks
   * {@linkcode EventBackend.take} for what a device reads.
   */
  readonly replaying: boolean;
  /**
   * An input took effect (not in a replay).
   *
   * @param event the input
   */
  input?(event: InputEvent): void;
  /**
   * In a replay: the logged value of an input that a device reads now.
   *
   * @param kind the kind's name
   * @param icount the instruction count of the read
   * @returns the payload
   * @throws {Error} if the log has no such input next
   */
  take?(kind: string, icount: number): Uint8Array;
  /**
   * The guest powered off, reset or got stuck (checked against the log in
   * a replay).
   *
   * @param status how
   * @param icount the instruction count
   */
  shutdown?(status: ExitStatus, icount: number): void;
}

/** The backend of a machine that records nothing: the host, directly. */
export const HOST_BACKEND: EventBackend = Object.freeze({ replaying: false });

/**
 * Applies pushed inputs (serial input, warps, plugin events) by kind name:
 * each kind registers how its value takes effect.
 *
 * @example Register a kind and apply an encoded value
 * ```ts
 * import { defineEventKind, EventRouter } from "./events.ts";
 * const byte = defineEventKind<number>("byte", {
 *   encode: (v) => new Uint8Array([v]),
 *   decode: (b) => b[0]!,
 * });
 * let got = 0;
 * const router = new EventRouter();
 * router.register(byte, (v) => void (got = v));
 * router.apply("byte", byte.encode(9));
 * console.log(got); // 9
 * ```
 */
export class EventRouter {
  #kinds = new Map<string, (payload: Uint8Array) => boolean | void>();
  #fallback:
    | ((kind: string, payload: Uint8Array) => boolean | void)
    | undefined;

  /**
   * Register how a kind's values take effect.
   *
   * @param kind the kind
   * @param apply takes a value; returns false when the machine cannot take
   *   it now (a full FIFO)
   * @throws {Error} if the kind is registered already
   */
  register<T>(kind: EventKind<T>, apply: (value: T) => boolean | void): void {
    if (this.#kinds.has(kind.name)) {
      throw new Error(
        `Cannot register event kind ${kind.name}: it is registered already`,
      );
    }
    this.#kinds.set(kind.name, (p) => apply(kind.decode(p)));
  }

  /**
   * Where kinds that are not registered go (the plugin host).
   *
   * @param apply applies an encoded value of a kind by name
   */
  setFallback(
    apply: (kind: string, payload: Uint8Array) => boolean | void,
  ): void {
    this.#fallback = apply;
  }

  /**
   * Apply an encoded value.
   *
   * @param kind the kind's name
   * @param payload the value, encoded
   * @returns false when the machine could not take it
   * @throws {Error} if no one takes the kind
   */
  apply(kind: string, payload: Uint8Array): boolean {
    const f = this.#kinds.get(kind);
    if (f) return f(payload) !== false;
    if (!this.#fallback) {
      throw new Error(`Cannot apply event kind ${kind}: nothing takes it`);
    }
    return this.#fallback(kind, payload) !== false;
  }

  /**
   * Whether a kind is registered here (not counting the fallback).
   *
   * @param kind the kind's name
   * @returns whether it is
   */
  has(kind: string): boolean {
    return this.#kinds.has(kind);
  }
}
