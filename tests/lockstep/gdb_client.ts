/**
 * A client for the GDB remote serial protocol, as far as the lockstep tester
 * needs it: packets and acknowledgements, no-ack mode, `qSupported`, `?`,
 * register reads (`g`, `p`) with register numbers taken from the target
 * description (`qXfer:features:read`), `s`, `c`, `m`, `Z0`/`z0` and `k`.
 * It talks TCP to 127.0.0.1 only.
 *
 * Reference: the GDB manual, appendix E "GDB Remote Serial Protocol"
 * (Overview, Packets, Stop Reply Packets, General Query Packets, Target
 * Description Format) and QEMU's `gdbstub.c` for its `qqemu.sstep` and
 * `Qqemu.sstep` extensions.
 *
 * Several requests may be in flight at once ({@linkcode GdbClient.pipeline}):
 * the stub answers them in order, and a full register read costs one round
 * trip. In ack mode that relies on the stub not waiting for our `+` before
 * it reads the next packet, which holds for QEMU's system-mode stub (it
 * never waits for acks, and QEMU 7.2 does not offer no-ack mode).
 *
 * @module
 */

/** A register that the target description names. */
export interface RegisterInfo {
  /** Its name in the description (`pc`, `ft0`, `mstatus`, `priv`, ...). */
  name: string;
  /** Its number for `p` and `P`. */
  regnum: number;
  /** Its width in bits. */
  bitsize: number;
  /** The feature it belongs to (`org.gnu.gdb.riscv.cpu`, ...). */
  feature: string;
}

/** Options for {@linkcode GdbClient.connect}. */
export interface GdbConnectOptions {
  /**
   * How long to keep retrying the connection while the stub starts, in ms.
   *
   * @default {10000}
   */
  timeoutMs?: number;
}

/** The connection closed; `exitCode` is set when a `W` packet said why. */
export class GdbConnectionClosedError extends Error {
  /** The exit status from a `W` packet, if one came. */
  readonly exitCode: number | undefined;

  /**
   * Make the error.
   *
   * @param message what happened
   * @param exitCode the target's exit status, if known
   */
  constructor(message: string, exitCode?: number) {
    super(message);
    this.name = "GdbConnectionClosedError";
    this.exitCode = exitCode;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Escape the characters that may not appear raw in a packet body (`#`, `$`,
 * `}` and `*`): `}` followed by the character XOR 0x20.
 *
 * @param body the packet body
 * @returns the escaped body
 * @example
 * ```ts
 * import { escapeBody } from "./gdb_client.ts";
 * if (escapeBody("a#b") !== "a}\x03b") throw new Error("unreachable");
 * ```
 */
export function escapeBody(body: string): string {
  return body.replace(
    /[#$}*]/g,
    (c) => "}" + String.fromCharCode(c.charCodeAt(0) ^ 0x20),
  );
}

/**
 * Undo escaping and run-length encoding (`X*n`: X repeated n - 29 more
 * times) in a received packet body.
 *
 * @param body the body as received
 * @returns the decoded body
 * @example
 * ```ts
 * import { unescapeBody } from "./gdb_client.ts";
 * if (unescapeBody("0* ") !== "0000") throw new Error("unreachable");
 * ```
 */
export function unescapeBody(body: string): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "}") {
      out += String.fromCharCode(body.charCodeAt(++i) ^ 0x20);
    } else if (c === "*" && out.length > 0) {
      const n = body.charCodeAt(++i) - 29;
      out += out[out.length - 1]!.repeat(n);
    } else out += c;
  }
  return out;
}

/**
 * The packet checksum: the sum of the body's bytes modulo 256, as two
 * lower-case hex digits.
 *
 * @param s the (escaped) body
 * @returns the checksum
 * @example
 * ```ts
 * import { checksum } from "./gdb_client.ts";
 * if (checksum("OK") !== "9a") throw new Error("unreachable");
 * ```
 */
export function checksum(s: string): string {
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum = (sum + s.charCodeAt(i)) & 0xff;
  return sum.toString(16).padStart(2, "0");
}

/**
 * Frame a packet: `$`, the escaped body, `#` and the checksum.
 *
 * @param body the packet body
 * @returns the bytes to send, as a string
 * @example
 * ```ts
 * import { framePacket } from "./gdb_client.ts";
 * if (framePacket("g") !== "$g#67") throw new Error("unreachable");
 * ```
 */
export function framePacket(body: string): string {
  const e = escapeBody(body);
  return `$${e}#${checksum(e)}`;
}

/**
 * Decode little-endian target bytes given as hex into an unsigned bigint.
 *
 * @param hex the bytes as hex, least significant byte first
 * @returns the value
 * @example
 * ```ts
 * import { hexToLe } from "./gdb_client.ts";
 * if (hexToLe("3412") !== 0x1234n) throw new Error("unreachable");
 * ```
 */
export function hexToLe(hex: string): bigint {
  let be = "0x0";
  for (let i = hex.length - 2; i >= 0; i -= 2) be += hex.slice(i, i + 2);
  return BigInt(be);
}

/** A connection to a GDB stub. */
export class GdbClient {
  #conn: Deno.TcpConn;
  #buf = "";
  #acks = "";
  #noAck = false;
  #closed = false;
  #exitCode: number | undefined;
  #readBuf = new Uint8Array(1 << 16);
  #features: Map<string, string> = new Map();
  /** Every packet sent and received, when set (for debugging). */
  log: ((dir: "->" | "<-", packet: string) => void) | undefined;

  /**
   * Wrap a connected socket; use {@linkcode GdbClient.connect} instead.
   *
   * @param conn the TCP connection
   */
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /**
   * Connect to a stub listening on 127.0.0.1, retrying while it starts.
   *
   * @param port the TCP port
   * @param options how long to retry
   * @returns the client, after `qSupported` and (when offered) no-ack mode
   */
  static async connect(
    port: number,
    options: GdbConnectOptions = {},
  ): Promise<GdbClient> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.setNoDelay(true);
        const c = new GdbClient(conn);
        await c.#handshake();
        return c;
      } catch (err) {
        if (!(err instanceof Deno.errors.ConnectionRefused)) throw err;
        if (Date.now() > deadline) {
          throw new Error(
            `Cannot connect to the GDB stub on 127.0.0.1:${port}: nothing listens there`,
            { cause: err },
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async #handshake(): Promise<void> {
    const reply = await this.command(
      "qSupported:multiprocess-;swbreak+;hwbreak+;xmlRegisters=riscv",
    );
    for (const item of reply.split(";")) {
      const eq = item.indexOf("=");
      if (eq >= 0) this.#features.set(item.slice(0, eq), item.slice(eq + 1));
      else if (item.endsWith("+")) this.#features.set(item.slice(0, -1), "+");
    }
    if (this.#features.get("QStartNoAckMode") === "+") {
      if ((await this.command("QStartNoAckMode")) === "OK") this.#noAck = true;
    }
  }

  /** Features from the stub's `qSupported` reply (`+` for booleans). */
  get features(): ReadonlyMap<string, string> {
    return this.#features;
  }

  async #fill(): Promise<void> {
    if (this.#closed) {
      throw new GdbConnectionClosedError(
        "The GDB stub closed the connection",
        this.#exitCode,
      );
    }
    let n: number | null;
    try {
      n = await this.#conn.read(this.#readBuf);
    } catch (err) {
      this.#closed = true;
      throw new GdbConnectionClosedError(
        `The GDB stub connection failed: ${(err as Error).message}`,
        this.#exitCode,
      );
    }
    if (n === null) {
      this.#closed = true;
      throw new GdbConnectionClosedError(
        "The GDB stub closed the connection",
        this.#exitCode,
      );
    }
    this.#buf += dec.decode(this.#readBuf.subarray(0, n));
  }

  /** Read one packet (acknowledging it unless in no-ack mode). */
  async #readPacket(): Promise<string> {
    for (;;) {
      // Skip acks and noise before the start of a packet.
      const start = this.#buf.indexOf("$");
      if (start < 0) {
        this.#buf = "";
        await this.#fill();
        continue;
      }
      const hash = this.#buf.indexOf("#", start);
      if (hash < 0 || hash + 3 > this.#buf.length) {
        await this.#fill();
        continue;
      }
      const body = this.#buf.slice(start + 1, hash);
      const sum = this.#buf.slice(hash + 1, hash + 3);
      this.#buf = this.#buf.slice(hash + 3);
      if (!this.#noAck) {
        // The ack goes out with our next packet (QEMU does not wait for
        // it), which saves a write per reply.
        const ok = checksum(body) === sum.toLowerCase();
        this.#acks += ok ? "+" : "-";
        if (!ok) {
          await this.#write("");
          continue;
        }
      }
      const text = unescapeBody(body);
      this.log?.("<-", text);
      const w = /^W([0-9a-fA-F]{2})/.exec(text);
      if (w) this.#exitCode = parseInt(w[1]!, 16);
      return text;
    }
  }

  async #write(s: string): Promise<void> {
    const bytes = enc.encode(this.#acks + s);
    this.#acks = "";
    let off = 0;
    while (off < bytes.length) {
      off += await this.#conn.write(bytes.subarray(off));
    }
  }

  /** Wait for the `+` that acknowledges a packet we sent. */
  async #waitAck(): Promise<boolean> {
    for (;;) {
      const i = this.#buf.search(/[+-]/);
      const dollar = this.#buf.indexOf("$");
      if (i >= 0 && (dollar < 0 || i < dollar)) {
        const c = this.#buf[i];
        this.#buf = this.#buf.slice(i + 1);
        return c === "+";
      }
      await this.#fill();
    }
  }

  async #send(packet: string): Promise<void> {
    const framed = framePacket(packet);
    this.log?.("->", packet);
    for (let tries = 0;; tries++) {
      await this.#write(framed);
      if (this.#noAck || await this.#waitAck()) return;
      if (tries > 3) throw new Error(`The GDB stub rejected packet ${packet}`);
    }
  }

  /**
   * Send one packet and wait for its reply.
   *
   * @param packet the packet body
   * @returns the reply body
   * @throws {GdbConnectionClosedError} if the stub went away
   */
  async command(packet: string): Promise<string> {
    await this.#send(packet);
    return await this.#readPacket();
  }

  /**
   * Send several packets at once and collect the replies in order.
   *
   * @param packets the packet bodies
   * @returns the replies
   */
  async pipeline(packets: readonly string[]): Promise<string[]> {
    let framed = "";
    for (const p of packets) {
      framed += framePacket(p);
      this.log?.("->", p);
    }
    await this.#write(framed);
    const out: string[] = [];
    for (let i = 0; i < packets.length; i++) out.push(await this.#readPacket());
    return out;
  }

  /**
   * Ask why the target stopped (`?`).
   *
   * @returns the stop reply, such as `T05thread:01;`
   */
  stopReason(): Promise<string> {
    return this.command("?");
  }

  /**
   * Read the general registers (`g`): values in the stub's order, each
   * `bytes` wide.
   *
   * @param bytes the register width in bytes
   * @returns the values
   */
  async readGeneralRegisters(bytes = 8): Promise<bigint[]> {
    return splitRegisters(await this.command("g"), bytes);
  }

  /**
   * Read registers by number (`p`), all in one round trip.
   *
   * @param regnums the register numbers
   * @returns the values (`undefined` where the stub answered with an error)
   */
  async readRegisters(
    regnums: readonly number[],
  ): Promise<(bigint | undefined)[]> {
    const replies = await this.pipeline(
      regnums.map((n) => `p${n.toString(16)}`),
    );
    return replies.map((
      r,
    ) => (r.startsWith("E") || r === "" ? undefined : hexToLe(r)));
  }

  /**
   * Read the target description (`qXfer:features:read`), following
   * `xi:include`s, and list its registers.
   *
   * @returns every register with its number
   */
  async targetDescription(): Promise<RegisterInfo[]> {
    const regs: RegisterInfo[] = [];
    let next = 0;
    const visit = async (annex: string) => {
      const xml = await this.#readXfer(annex);
      for (const inc of xml.matchAll(/<xi:include\s+href="([^"]+)"/g)) {
        await visit(inc[1]!);
      }
      for (
        const feat of xml.matchAll(
          /<feature\s+name="([^"]+)"[^>]*>([\s\S]*?)<\/feature>/g,
        )
      ) {
        for (const r of feat[2]!.matchAll(/<reg\s+([^>]*)\/?>/g)) {
          const attrs = new Map<string, string>();
          for (const a of r[1]!.matchAll(/(\w+)="([^"]*)"/g)) {
            attrs.set(a[1]!, a[2]!);
          }
          const regnum = attrs.has("regnum")
            ? parseInt(attrs.get("regnum")!, 10)
            : next;
          next = regnum + 1;
          regs.push({
            name: attrs.get("name") ?? "",
            regnum,
            bitsize: parseInt(attrs.get("bitsize") ?? "0", 10),
            feature: feat[1]!,
          });
        }
      }
    };
    await visit("target.xml");
    return regs;
  }

  async #readXfer(annex: string): Promise<string> {
    let out = "";
    for (;;) {
      const r = await this.command(
        `qXfer:features:read:${annex}:${out.length.toString(16)},ffb`,
      );
      if (r.startsWith("E")) {
        throw new Error(`Cannot read the target description ${annex}: ${r}`);
      }
      out += r.slice(1);
      if (r[0] === "l") return out;
    }
  }

  /**
   * Single-step one instruction (`s`) and wait for the stop.
   *
   * @returns the stop reply
   */
  step(): Promise<string> {
    return this.command("s");
  }

  /**
   * Continue (`c`) until the target stops.
   *
   * @returns the stop reply
   */
  cont(): Promise<string> {
    return this.command("c");
  }

  /**
   * Interrupt a running target (the `\x03` byte); the stop reply answers
   * the `c` that started it.
   */
  async interrupt(): Promise<void> {
    this.log?.("->", "\\x03");
    await this.#write("\x03");
  }

  /**
   * Read target memory (`m`).
   *
   * @param addr the address
   * @param length how many bytes
   * @returns the bytes
   */
  async readMemory(addr: bigint, length: number): Promise<Uint8Array> {
    const r = await this.command(
      `m${addr.toString(16)},${length.toString(16)}`,
    );
    if (r.startsWith("E")) {
      throw new RangeError(
        `Cannot read ${length} bytes at 0x${addr.toString(16)}: ${r}`,
      );
    }
    const out = new Uint8Array(r.length / 2);
    for (let i = 0; i < out.length; i++) {
      out[i] = parseInt(r.slice(2 * i, 2 * i + 2), 16);
    }
    return out;
  }

  /**
   * Insert a software breakpoint (`Z0`).
   *
   * @param addr where
   * @param kind the breakpoint length (2 or 4 on RISC-V)
   */
  async insertBreakpoint(addr: bigint, kind = 4): Promise<void> {
    const r = await this.command(`Z0,${addr.toString(16)},${kind}`);
    if (r !== "OK") {
      throw new Error(
        `Cannot set a breakpoint at 0x${addr.toString(16)}: ${r}`,
      );
    }
  }

  /**
   * Remove a software breakpoint (`z0`).
   *
   * @param addr where
   * @param kind the breakpoint length
   */
  async removeBreakpoint(addr: bigint, kind = 4): Promise<void> {
    const r = await this.command(`z0,${addr.toString(16)},${kind}`);
    if (r !== "OK") {
      throw new Error(
        `Cannot remove the breakpoint at 0x${addr.toString(16)}: ${r}`,
      );
    }
  }

  /** Kill the target (`k`) and close the connection. */
  async kill(): Promise<void> {
    if (!this.#closed) {
      try {
        await this.#send("k");
      } catch {
        // the stub may already be gone
      }
    }
    this.close();
  }

  /** Close the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Split a `g` reply into register values.
 *
 * @param hex the reply
 * @param bytes the register width in bytes
 * @returns the values
 */
export function splitRegisters(hex: string, bytes: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i + 2 * bytes <= hex.length; i += 2 * bytes) {
    out.push(hexToLe(hex.slice(i, i + 2 * bytes)));
  }
  return out;
}
