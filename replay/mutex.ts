/**
 * The replay mutex: a fair FIFO ticket lock shared between threads (the
 * vCPU worker and the main loop), over a `SharedArrayBuffer`, with
 * `Atomics.wait` / `Atomics.notify`.
 *
 * This is the role of QEMU's `replay_mutex_lock`: the vCPU holds the lock for
 * a whole execution period (a run slice) and releases it at a checkpoint; the
 * main loop takes it there to hand over queued host input, run its timers and
 * bottom halves, or to keep the machine stopped. Because the lock is served
 * in ticket order, a main loop that asked for it gets it at the very next
 * checkpoint, however eagerly the vCPU asks again: the two threads play a
 * deterministic ping-pong rather than a race.
 *
 * Layout of the shared words (`Int32Array`): the next ticket to hand out, the
 * ticket now being served, and the owner id of the holder (0 when free).
 * Waiters sleep on the now-serving word. Tickets wrap at 2^32, which equality
 * tests do not mind.
 *
 * @module
 */

const NEXT = 0, SERVING = 1, OWNER = 2;
const WORDS = 4;

/** Size in bytes of the shared buffer a {@linkcode ReplayMutex} needs. */
export const REPLAY_MUTEX_BYTES: number = WORDS * 4;

/** Options for {@linkcode ReplayMutex}. */
export interface ReplayMutexOptions {
  /**
   * This thread's owner id: a positive integer, different on every thread
   * that shares the buffer (for example 1 on the main loop, 2 in the vCPU
   * worker). {@linkcode ReplayMutex.isHeldByMe} compares it with the holder.
   *
   * @default {1}
   */
  owner?: number;
}

/**
 * A fair FIFO ticket lock over a `SharedArrayBuffer`. Every thread builds its
 * own `ReplayMutex` over the same buffer, each with its own owner id.
 *
 * {@linkcode ReplayMutex.lock} blocks with `Atomics.wait`, which a worker may
 * always do; on a main thread that must not block, use
 * {@linkcode ReplayMutex.lockAsync}, which waits with `Atomics.waitAsync`.
 * The lock is not reentrant: locking it twice from one thread throws rather
 * than deadlocking.
 *
 * @example Take and release the lock
 * ```ts
 * import { ReplayMutex } from "./mutex.ts";
 * const main = new ReplayMutex(undefined, { owner: 1 });
 * // In a worker: new ReplayMutex(buffer, { owner: 2 }), buffer passed by postMessage.
 * const vcpu = new ReplayMutex(main.buffer, { owner: 2 });
 * vcpu.lock();
 * console.log(vcpu.isHeldByMe(), main.isHeldByMe()); // true false
 * vcpu.unlock();
 * await main.lockAsync();
 * main.assertHeld("the replay log");
 * main.unlock();
 * ```
 */
export class ReplayMutex {
  /** The shared buffer; pass it to the other threads. */
  readonly buffer: SharedArrayBuffer;
  /** This thread's owner id. */
  readonly owner: number;
  readonly #w: Int32Array;

  /**
   * Make a mutex, or attach to one that another thread made.
   *
   * @param buffer the shared words, at least {@linkcode REPLAY_MUTEX_BYTES}
   *   bytes; a fresh buffer (an unlocked mutex) when omitted
   * @param options this thread's owner id
   * @throws {RangeError} if the buffer is too small or the owner id is not a
   *   positive integer
   */
  constructor(buffer?: SharedArrayBuffer, options: ReplayMutexOptions = {}) {
    this.buffer = buffer ?? new SharedArrayBuffer(REPLAY_MUTEX_BYTES);
    if (this.buffer.byteLength < REPLAY_MUTEX_BYTES) {
      throw new RangeError(
        `Cannot use the replay mutex: its buffer has ${this.buffer.byteLength} bytes, it needs ${REPLAY_MUTEX_BYTES}`,
      );
    }
    const owner = options.owner ?? 1;
    if (!Number.isInteger(owner) || owner < 1 || owner > 0x7fffffff) {
      throw new RangeError(
        `Cannot use the replay mutex: owner id ${owner} is not a positive 31-bit integer`,
      );
    }
    this.owner = owner;
    this.#w = new Int32Array(this.buffer, 0, WORDS);
  }

  /**
   * Take the lock, blocking this thread (`Atomics.wait`) until every thread
   * that asked before has had its turn.
   *
   * @returns the ticket this thread was served with
   * @throws {Error} if this thread holds the lock already
   */
  lock(): number {
    this.#checkNotHeld();
    const ticket = Atomics.add(this.#w, NEXT, 1);
    for (;;) {
      const serving = Atomics.load(this.#w, SERVING);
      if (serving === ticket) break;
      Atomics.wait(this.#w, SERVING, serving);
    }
    Atomics.store(this.#w, OWNER, this.owner);
    return ticket;
  }

  /**
   * Take the lock without blocking the thread: the promise resolves when it
   * is this thread's turn (`Atomics.waitAsync`). While it waits, a timer
   * keeps the event loop alive.
   *
   * @returns the ticket this thread was served with
   * @throws {Error} if this thread holds the lock already
   */
  async lockAsync(): Promise<number> {
    this.#checkNotHeld();
    const ticket = Atomics.add(this.#w, NEXT, 1);
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    try {
      for (;;) {
        const serving = Atomics.load(this.#w, SERVING);
        if (serving === ticket) break;
        keepAlive ??= setInterval(() => {}, 1 << 30);
        const r = Atomics.waitAsync(this.#w, SERVING, serving);
        if (r.async) await r.value;
      }
    } finally {
      if (keepAlive !== undefined) clearInterval(keepAlive);
    }
    Atomics.store(this.#w, OWNER, this.owner);
    return ticket;
  }

  /**
   * Release the lock and wake the threads waiting for it; the one holding
   * the next ticket goes on.
   *
   * @throws {Error} if this thread does not hold the lock
   */
  unlock(): void {
    this.assertHeld("unlock the replay mutex");
    Atomics.store(this.#w, OWNER, 0);
    Atomics.add(this.#w, SERVING, 1);
    Atomics.notify(this.#w, SERVING);
  }

  /**
   * Whether this thread holds the lock.
   *
   * @returns true between this thread's `lock` and `unlock`
   */
  isHeldByMe(): boolean {
    return Atomics.load(this.#w, OWNER) === this.owner;
  }

  /**
   * How many threads hold a ticket: the holder and those waiting behind it.
   * A holder can look at this to end its period early when someone waits.
   *
   * @returns 0 when the lock is free
   */
  get queued(): number {
    return (Atomics.load(this.#w, NEXT) - Atomics.load(this.#w, SERVING)) |
      0;
  }

  /**
   * Check that this thread holds the lock; for code that may only run
   * under it, such as every access to the replay log.
   *
   * @param what what needs the lock, for the message
   * @throws {Error} if this thread does not hold the lock
   */
  assertHeld(what: string): void {
    if (!this.isHeldByMe()) {
      const holder = Atomics.load(this.#w, OWNER);
      throw new Error(
        `Cannot ${what}: the replay mutex is not held by this thread (owner ${this.owner}; ${
          holder === 0 ? "nobody holds it" : `owner ${holder} holds it`
        })`,
      );
    }
  }

  #checkNotHeld(): void {
    if (this.isHeldByMe()) {
      throw new Error(
        `Cannot lock the replay mutex: this thread (owner ${this.owner}) holds it already`,
      );
    }
  }
}
