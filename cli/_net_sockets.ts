// Internal: the socket netdevs of the deja command (-netdev socket and
// stream). The main loop owns the sockets (plugins/net_socket.ts); frames
// from a peer travel to the vCPU worker through a shared ring, framed as
// [u8 virtio index][u32 LE length][frame], and the worker hands each to its
// card at its next checkpoint (recorded there as a NET_RX input). Frames the
// guest sends come back as `net-tx` messages. hostfwd= listeners: each
// accepted connection's open, data and end go through the same ring to the
// user network in the worker (which answers with frames, recorded as
// NET_RX); what the guest sends on it comes back as `net-host` messages.
// A replay opens no socket.

import type { HostForward, MachineConfig } from "./args.ts";
import type { ToMain } from "./_protocol.ts";
import { InputRing } from "./_input_ring.ts";
import { NetdevSocketError, SocketNetdev } from "../plugins/net_socket.ts";

/** The open socket netdevs of a run. */
export interface NetSockets {
  /** The ring the worker reads peer frames from. */
  buffer: SharedArrayBuffer;
  /** Send a frame the guest sent on virtio device `index`. */
  send(index: number, frame: Uint8Array): void;
  /** What the guest sent on, or did to, a forwarded connection. */
  forwarded(m: Extract<ToMain, { type: "net-host" }>): void;
  /** Close every socket. */
  close(): Promise<void>;
}

/**
 * Open the socket netdevs of `config`'s network cards (none in a replay,
 * where the frames come from the log).
 *
 * @param config the command line
 * @param wake wakes the worker (idle in wfi) after frames were queued
 * @param notice prints a one-line notice (a peer came or left)
 * @returns the sockets, or undefined when there are none
 * @throws {NetdevSocketError} when one cannot listen or connect
 */
export async function openNetSockets(
  config: MachineConfig,
  wake: () => void,
  notice: (line: string) => void,
): Promise<NetSockets | undefined> {
  if (config.icount.rr === "replay") return undefined;
  const ring = new InputRing();
  const backlog: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pump = () => {
    timer = undefined;
    while (backlog.length > 0) {
      const bytes = backlog[0]!;
      const n = ring.put(bytes);
      if (n < bytes.length) {
        // The worker has not taken the last frames yet: try again soon.
        backlog[0] = bytes.subarray(n);
        timer = setTimeout(pump, 2);
        break;
      }
      backlog.shift();
    }
    wake();
  };
  const sockets = new Map<number, SocketNetdev>();
  const forwards: { close(): void }[] = [];
  const conns = new Map<number, Forwarded>();
  const queue = (index: number, payload: Uint8Array) => {
    const bytes = new Uint8Array(5 + payload.length);
    bytes[0] = index;
    new DataView(bytes.buffer).setUint32(1, payload.length, true);
    bytes.set(payload, 5);
    backlog.push(bytes);
    if (timer === undefined) pump();
  };
  const closeAll = async () => {
    if (timer !== undefined) clearTimeout(timer);
    for (const s of sockets.values()) await s.close();
    for (const f of forwards) f.close();
    for (const c of [...conns.values()]) c.close();
  };
  try {
    for (const [index, v] of config.virtio.entries()) {
      if (v.kind !== "net" || v.netdev.socket === undefined) continue;
      const { mode, hostname, port } = v.netdev.socket;
      sockets.set(
        index,
        await SocketNetdev.open({
          id: v.netdev.id,
          mode,
          hostname,
          port,
          notice,
          receive: (frame) => queue(index, frame),
        }),
      );
    }
    for (const [index, v] of config.virtio.entries()) {
      if (v.kind !== "net") continue;
      for (const rule of v.netdev.hostfwd ?? []) {
        forwards.push(
          listenForward(rule, v.netdev.id, index, conns, queue, notice),
        );
      }
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  if (sockets.size === 0 && forwards.length === 0) return undefined;
  return {
    buffer: ring.buffer,
    send: (index, frame) => sockets.get(index)?.send(frame),
    forwarded(m) {
      const c = conns.get(m.conn);
      if (!c) return;
      if (m.data) c.write(m.data);
      if (m.close) c.guestClosed(m.close);
    },
    close: closeAll,
  };
}

/** A forwarded connection's host end. */
interface Forwarded {
  write(bytes: Uint8Array): void;
  guestClosed(how: "fin" | "reset"): void;
  close(): void;
}

const OPEN = 0, DATA = 1, CLOSE = 2;

/** Listen on a hostfwd= rule's host port; each connection goes to the guest. */
function listenForward(
  rule: HostForward,
  id: string,
  index: number,
  conns: Map<number, Forwarded>,
  queue: (index: number, bytes: Uint8Array) => void,
  notice: (line: string) => void,
): { close(): void } {
  const where = `${rule.hostname}:${rule.hostPort}`;
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ hostname: rule.hostname, port: rule.hostPort });
  } catch (err) {
    throw new NetdevSocketError(
      err instanceof Deno.errors.AddrInUse
        ? `Cannot listen on ${where} for -netdev ${id} hostfwd=: the port is in use; choose another port`
        : `Cannot listen on ${where} for -netdev ${id} hostfwd=: ${
          err instanceof Error ? err.message : String(err)
        }`,
    );
  }
  const event = (op: number, conn: number, tail: Uint8Array) => {
    const b = new Uint8Array(5 + tail.length);
    b[0] = op;
    new DataView(b.buffer).setUint32(1, conn, true);
    b.set(tail, 5);
    queue(index | 0x80, b);
  };
  void (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      const n = nextConn++;
      let writing = Promise.resolve();
      let hostDone = false, guestDone = false;
      const end = () => {
        conns.delete(n);
        try {
          conn.close();
        } catch { /* closed */ }
      };
      conns.set(n, {
        write(bytes) {
          writing = writing.then(async () => {
            for (let at = 0; at < bytes.length;) {
              at += await conn.write(bytes.subarray(at));
            }
          }).catch(() => {});
        },
        guestClosed(how) {
          guestDone = true;
          if (how === "reset") {
            notice(
              `-netdev ${id} hostfwd ${where}: the guest refused or reset the connection to port ${rule.guestPort}`,
            );
            end();
            return;
          }
          writing = writing.then(() => conn.closeWrite()).catch(() => {});
          if (hostDone) void writing.then(end);
        },
        close: end,
      });
      const port = new Uint8Array(2);
      new DataView(port.buffer).setUint16(0, rule.guestPort, true);
      event(OPEN, n, port);
      void (async () => {
        const buf = new Uint8Array(16384);
        for (;;) {
          const got = await conn.read(buf).catch(() => null);
          if (got === null) break;
          event(DATA, n, buf.slice(0, got));
        }
        hostDone = true;
        if (!conns.has(n)) return; // reset by the guest
        event(CLOSE, n, new Uint8Array(0));
        if (guestDone) void writing.then(end);
      })();
    }
  })();
  return {
    close() {
      try {
        listener.close();
      } catch { /* closed */ }
    },
  };
}

let nextConn = 1;
