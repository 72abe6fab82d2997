// Internal: a single-producer, single-consumer byte ring over a
// SharedArrayBuffer, carrying host input from the main loop to the vCPU
// worker. The producer bumps a sequence word and notifies it, so that an idle
// worker blocked in `wait` wakes at once.

const HEADER = 16; // write index, read index, sequence, quit flag
const CAPACITY = 1 << 16;
const W = 0, R = 1, SEQ = 2, QUIT = 3;

/** A byte ring shared between two threads. */
export class InputRing {
  readonly buffer: SharedArrayBuffer;
  readonly #hdr: Int32Array;
  readonly #data: Uint8Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(HEADER + CAPACITY);
    this.#hdr = new Int32Array(this.buffer, 0, 4);
    this.#data = new Uint8Array(this.buffer, HEADER, CAPACITY);
  }

  /** Producer: append bytes; returns how many fit. */
  put(bytes: Uint8Array): number {
    const w = Atomics.load(this.#hdr, W), r = Atomics.load(this.#hdr, R);
    const free = CAPACITY - 1 - ((w - r + CAPACITY) % CAPACITY);
    const n = Math.min(free, bytes.length);
    for (let i = 0; i < n; i++) this.#data[(w + i) % CAPACITY] = bytes[i]!;
    Atomics.store(this.#hdr, W, (w + n) % CAPACITY);
    this.#signal();
    return n;
  }

  /** Producer: ask the consumer to stop. */
  requestQuit(): void {
    Atomics.store(this.#hdr, QUIT, 1);
    this.#signal();
  }

  #signal(): void {
    Atomics.add(this.#hdr, SEQ, 1);
    Atomics.notify(this.#hdr, SEQ);
  }

  /** Consumer: whether a quit was requested. */
  get quitRequested(): boolean {
    return Atomics.load(this.#hdr, QUIT) !== 0;
  }

  /** Consumer: take every byte available. */
  take(): Uint8Array {
    const w = Atomics.load(this.#hdr, W), r = Atomics.load(this.#hdr, R);
    const n = (w - r + CAPACITY) % CAPACITY;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#data[(r + i) % CAPACITY]!;
    Atomics.store(this.#hdr, R, w);
    return out;
  }

  /** Consumer: whether bytes are waiting. */
  get ready(): boolean {
    return Atomics.load(this.#hdr, W) !== Atomics.load(this.#hdr, R);
  }

  /**
   * Consumer: block up to `ms` milliseconds unless input is waiting, or
   * `alsoReady` says another ring whose producer signals this one has
   * something (checked after the sequence is read, so no signal is lost).
   */
  wait(ms: number, alsoReady?: () => boolean): void {
    const seq = Atomics.load(this.#hdr, SEQ);
    if (this.ready || alsoReady?.()) return;
    if (this.quitRequested) return;
    Atomics.wait(this.#hdr, SEQ, seq, ms);
  }
}
