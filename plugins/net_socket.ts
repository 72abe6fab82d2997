/**
 * A network backend over a TCP stream (`-netdev socket,listen=|connect=`
 * and QEMU 7.2's `-netdev stream`), so that two deja machines, or deja and
 * QEMU, exchange Ethernet frames.
 *
 * The stream carries frames as QEMU's `net/socket.c` and `net/stream.c`
 * frame them: each frame is preceded by its length as a 4-byte big-endian
 * number. `listen` waits for one peer at a time and takes the next one when
 * it leaves (frames the guest sends meanwhile are dropped, as on a cable
 * that is unplugged); `connect` connects once, before the machine starts,
 * and a peer that leaves is reported and not reconnected.
 *
 * This is host I/O: the frames that arrive are handed to `receive`, which
 * the deja command turns into `NET_RX` inputs recorded with their
 * instruction counts. A replay opens no socket (its frames come from the
 * log).
 *
 * @module
 */

/**
 * The largest frame a peer may announce (QEMU's `NET_BUFSIZE`, 4096 +
 * 65536 bytes): a longer one means the stream is not QEMU's framing.
 */
export const MAX_STREAM_FRAME: number = 4096 + 65536;

/**
 * Frame one Ethernet frame for the stream: its length as 4 bytes, big
 * endian, then the frame.
 *
 * @param frame the Ethernet frame
 * @returns the bytes to send
 * @example
 * ```ts
 * import { encodeStreamFrame } from "./net_socket.ts";
 * console.log(encodeStreamFrame(new Uint8Array([7, 8]))); // [0, 0, 0, 2, 7, 8]
 * ```
 */
export function encodeStreamFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  out.set(frame, 4);
  return out;
}

/** A peer sent a length that no Ethernet frame has. */
export class StreamFramingError extends Error {
  /**
   * Make the error.
   *
   * @param length the length the peer announced
   */
  constructor(length: number) {
    super(
      `the peer announced a ${length}-byte frame, more than ${MAX_STREAM_FRAME}: it does not speak QEMU's socket framing (a 4-byte big-endian length before each frame)`,
    );
    this.name = "StreamFramingError";
  }
}

/**
 * Splits a byte stream into frames (the reverse of
 * {@linkcode encodeStreamFrame}); chunks may cut a frame anywhere.
 *
 * @example
 * ```ts
 * import { StreamDeframer } from "./net_socket.ts";
 * const d = new StreamDeframer();
 * console.log(d.push(new Uint8Array([0, 0, 0, 3, 1]))); // []
 * console.log(d.push(new Uint8Array([2, 3, 0, 0]))); // [Uint8Array [1, 2, 3]]
 * console.log(d.buffered); // 2
 * ```
 */
export class StreamDeframer {
  #buf = new Uint8Array(0);

  /** Bytes held for a frame that has not arrived whole. */
  get buffered(): number {
    return this.#buf.length;
  }

  /**
   * Add bytes from the stream.
   *
   * @param chunk the bytes read
   * @returns the frames completed by them
   * @throws {StreamFramingError} if a length is over {@linkcode MAX_STREAM_FRAME}
   */
  push(chunk: Uint8Array): Uint8Array[] {
    let all = chunk;
    if (this.#buf.length > 0) {
      all = new Uint8Array(this.#buf.length + chunk.length);
      all.set(this.#buf);
      all.set(chunk, this.#buf.length);
    }
    const v = new DataView(all.buffer, all.byteOffset, all.length);
    const frames: Uint8Array[] = [];
    let at = 0;
    while (all.length - at >= 4) {
      const n = v.getUint32(at);
      if (n > MAX_STREAM_FRAME) throw new StreamFramingError(n);
      if (all.length - at - 4 < n) break;
      frames.push(all.slice(at + 4, at + 4 + n));
      at += 4 + n;
    }
    this.#buf = all.slice(at);
    return frames;
  }

  /** Forget a partial frame (the peer left). */
  reset(): void {
    this.#buf = new Uint8Array(0);
  }
}

/** A socket netdev could not be opened. */
export class NetdevSocketError extends Error {
  /**
   * Make the error.
   *
   * @param message what failed and the fix
   * @param options the cause
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NetdevSocketError";
  }
}

/** Options for {@linkcode SocketNetdev.open}. */
export interface SocketNetdevOptions {
  /** The `-netdev` id, for messages. */
  id: string;
  /** Wait for a peer (`listen=`, `server=on`) or connect to one. */
  mode: "listen" | "connect";
  /** The host to listen on or connect to. */
  hostname: string;
  /** The TCP port. */
  port: number;
  /**
   * A frame arrived from the peer.
   *
   * @param frame the Ethernet frame
   */
  receive(frame: Uint8Array): void;
  /**
   * Something the user should know while the machine runs (a peer came or
   * left), one line.
   *
   * @default {ignored}
   */
  notice?: (line: string) => void;
}

/**
 * One socket netdev: a TCP stream to a peer carrying framed Ethernet
 * frames.
 *
 * @example Two netdevs exchange a frame
 * ```ts ignore
 * import { SocketNetdev } from "./net_socket.ts";
 * const got: Uint8Array[] = [];
 * const a = await SocketNetdev.open({
 *   id: "a", mode: "listen", hostname: "127.0.0.1", port: 0, receive() {},
 * });
 * const b = await SocketNetdev.open({
 *   id: "b", mode: "connect", hostname: "127.0.0.1", port: a.port,
 *   receive: (f) => void got.push(f),
 * });
 * await a.connected();
 * a.send(new Uint8Array(60));
 * ```
 */
export class SocketNetdev {
  #options: SocketNetdevOptions;
  #listener: Deno.Listener | undefined;
  #conn: Deno.Conn | undefined;
  #deframer = new StreamDeframer();
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #waiters: (() => void)[] = [];
  /** Frames sent to the peer. */
  sent = 0;
  /** Frames received from the peer. */
  received = 0;
  /** Frames dropped because no peer was connected. */
  dropped = 0;

  private constructor(options: SocketNetdevOptions) {
    this.#options = options;
  }

  /**
   * Listen or connect.
   *
   * @param options where, and where received frames go
   * @returns the netdev; with `listen` its peer comes later
   * @throws {NetdevSocketError} if the address cannot be listened on or
   * the peer refuses the connection
   */
  static async open(options: SocketNetdevOptions): Promise<SocketNetdev> {
    const n = new SocketNetdev(options);
    const where = `${options.hostname}:${options.port}`;
    const what = `-netdev ${options.id}`;
    try {
      if (options.mode === "listen") {
        n.#listener = Deno.listen({
          hostname: options.hostname,
          port: options.port,
          transport: "tcp",
        });
        void n.#accept();
      } else {
        const conn = await Deno.connect({
          hostname: options.hostname,
          port: options.port,
          transport: "tcp",
        });
        n.#use(conn);
      }
    } catch (err) {
      // One line: the message says what failed and the fix.
      throw new NetdevSocketError(
        socketErrorMessage(err, what, where, options.mode),
      );
    }
    return n;
  }

  /** The local port (useful with `port: 0` when listening). */
  get port(): number {
    const l = this.#listener;
    return l ? (l.addr as Deno.NetAddr).port : this.#options.port;
  }

  /** Whether a peer is connected. */
  get isConnected(): boolean {
    return this.#conn !== undefined;
  }

  /**
   * Resolve once a peer is connected.
   *
   * @returns when it is
   */
  connected(): Promise<void> {
    if (this.#conn || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Send a frame to the peer (dropped when there is none).
   *
   * @param frame the Ethernet frame
   */
  send(frame: Uint8Array): void {
    const conn = this.#conn;
    if (!conn) {
      this.dropped++;
      return;
    }
    const bytes = encodeStreamFrame(frame);
    this.sent++;
    this.#writing = this.#writing.then(async () => {
      if (this.#conn !== conn) return;
      try {
        for (let at = 0; at < bytes.length;) {
          at += await conn.write(bytes.subarray(at));
        }
      } catch {
        this.#lost(conn, "the connection broke while sending");
      }
    });
  }

  /** Close the socket and the listener. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#writing;
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = undefined;
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    for (const w of this.#waiters.splice(0)) w();
  }

  async #accept(): Promise<void> {
    const listener = this.#listener!;
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      if (this.#conn) {
        // One peer at a time, as QEMU.
        conn.close();
        continue;
      }
      this.#notice(`a peer connected from ${addrText(conn.remoteAddr)}`);
      this.#use(conn);
      await this.#read(conn);
    }
  }

  #use(conn: Deno.Conn): void {
    this.#conn = conn;
    this.#deframer.reset();
    for (const w of this.#waiters.splice(0)) w();
    if (this.#options.mode === "connect") void this.#read(conn);
  }

  async #read(conn: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) {
        this.#lost(conn, "the peer closed the connection");
        return;
      }
      let frames: Uint8Array[];
      try {
        frames = this.#deframer.push(buf.subarray(0, n));
      } catch (err) {
        this.#lost(conn, (err as Error).message);
        return;
      }
      for (const f of frames) {
        this.received++;
        this.#options.receive(f);
      }
    }
  }

  #lost(conn: Deno.Conn, why: string): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    try {
      conn.close();
    } catch { /* already closed */ }
    if (this.#closed) return;
    this.#notice(
      this.#options.mode === "listen"
        ? `${why}; frames the guest sends are dropped until a peer connects again`
        : `${why}; frames the guest sends are dropped from now on`,
    );
  }

  #notice(line: string): void {
    const o = this.#options;
    o.notice?.(`-netdev ${o.id} (${o.hostname}:${this.port}): ${line}`);
  }
}

function addrText(a: Deno.Addr): string {
  return a.transport === "tcp" || a.transport === "udp"
    ? `${a.hostname}:${a.port}`
    : a.transport;
}

function socketErrorMessage(
  err: unknown,
  what: string,
  where: string,
  mode: "listen" | "connect",
): string {
  const verb = mode === "listen" ? "listen on" : "connect to";
  if (
    err instanceof Deno.errors.NotCapable ||
    err instanceof Deno.errors.PermissionDenied
  ) {
    return `Cannot ${verb} ${where} for ${what}: no permission; add --allow-net=${where} to the deno run command`;
  }
  if (err instanceof Deno.errors.ConnectionRefused) {
    return `Cannot connect ${what} to ${where}: connection refused; start the peer first (a deja or QEMU with listen=${where} or server=on), or listen here instead`;
  }
  if (err instanceof Deno.errors.AddrInUse) {
    return `Cannot listen on ${where} for ${what}: the port is in use; choose another port`;
  }
  const detail = err instanceof Error ? err.message : String(err);
  return `Cannot ${verb} ${where} for ${what}: ${detail}`;
}
