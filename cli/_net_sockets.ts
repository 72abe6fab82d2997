// Internal: the socket netdevs of the deja command (-netdev socket and
// stream). The main loop owns the sockets (plugins/net_socket.ts); frames
// from a peer travel to the vCPU worker through a shared ring, framed as
// [u8 virtio index][u32 LE length][frame], and the worker hands each to its
// card at its next checkpoint (recorded there as a NET_RX input). Frames the
// guest sends come back as `net-tx` messages. A replay opens no socket.

import type { MachineConfig } from "./args.ts";
import { InputRing } from "./_input_ring.ts";
import { SocketNetdev } from "../plugins/net_socket.ts";

/** The open socket netdevs of a run. */
export interface NetSockets {
  /** The ring the worker reads peer frames from. */
  buffer: SharedArrayBuffer;
  /** Send a frame the guest sent on virtio device `index`. */
  send(index: number, frame: Uint8Array): void;
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
  const closeAll = async () => {
    if (timer !== undefined) clearTimeout(timer);
    for (const s of sockets.values()) await s.close();
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
          receive(frame) {
            const bytes = new Uint8Array(5 + frame.length);
            bytes[0] = index;
            new DataView(bytes.buffer).setUint32(1, frame.length, true);
            bytes.set(frame, 5);
            backlog.push(bytes);
            if (timer === undefined) pump();
          },
        }),
      );
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  if (sockets.size === 0) return undefined;
  return {
    buffer: ring.buffer,
    send: (index, frame) => sockets.get(index)?.send(frame),
    close: closeAll,
  };
}
