/**
 * The built-in character backends, written as backend plugins: where the
 * serial console (`-serial`) goes. They run on the main loop; what they read
 * reaches the UART only as the core replay event kind `serial`, so a
 * recording holds it and a replay needs none of them.
 *
 * - {@linkcode stdioBackend}: the terminal (`-serial stdio`; with `mux=on`,
 *   QEMU's Ctrl-A escapes, as `mon:stdio`);
 * - {@linkcode nullBackend}: nothing (`-serial null`);
 * - {@linkcode fileBackend}: output to a file (`-serial file:PATH`);
 * - {@linkcode socketBackend}: a TCP server on 127.0.0.1
 *   (`-serial tcp:127.0.0.1:PORT,server,nowait`); needs
 *   `--allow-net=127.0.0.1`.
 *
 * @module
 */

import { EscapeFilter } from "./escape_filter.ts";
import {
  type AnyBackendPlugin,
  type BackendInstance,
  defineBackendPlugin,
  PLUGIN_API_VERSION,
} from "./registry.ts";

const common = {
  kind: "backend",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
} as const;

function writeAll(w: { writeSync(p: Uint8Array): number }, b: Uint8Array) {
  let off = 0;
  while (off < b.length) off += w.writeSync(b.subarray(off));
}

/** `-serial null`: output is dropped, there is no input. */
export const nullBackend: AnyBackendPlugin = defineBackendPlugin({
  ...common,
  name: "null",
  description: "discard output, no input",
  create: () => ({ write: () => {} }),
});

/** `-serial file:PATH`: output goes to a file (created or truncated). */
export const fileBackend: AnyBackendPlugin = defineBackendPlugin({
  ...common,
  name: "file",
  description: "write output to a file",
  options: {
    path: { type: "string", required: true, description: "the file" },
  },
  permissions: (o) => [{ name: "write", path: o.path }],
  create: async (_ctx, o) => {
    const file = await Deno.open(o.path, {
      write: true,
      create: true,
      truncate: true,
    });
    return {
      write: (b) => writeAll(file, b),
      close: () => file.close(),
    };
  },
});

/**
 * `-serial stdio` and `mon:stdio` (`mux=on`): the terminal. With `mux`,
 * Ctrl-A x quits and Ctrl-A h lists the keys; without, Ctrl-C quits when
 * stdin is a terminal in raw mode.
 */
export const stdioBackend: AnyBackendPlugin = defineBackendPlugin({
  ...common,
  name: "stdio",
  description: "the terminal",
  produces: ["serial"],
  options: {
    mux: {
      type: "boolean",
      default: false,
      description: "QEMU's Ctrl-A escapes (mon:stdio)",
    },
    input: {
      type: "boolean",
      default: true,
      description:
        "read stdin (off: output only; with mux, only the escapes count)",
    },
  },
  create: (ctx, o) => {
    const write = (b: Uint8Array) => writeAll(Deno.stdout, b);
    // Output only: stdin stays with whoever owns it (the CLI's monitor).
    if (!o.input && !o.mux) return { write };
    const filter = new EscapeFilter();
    const tty = Deno.stdin.isTerminal();
    const reader = Deno.stdin.readable.getReader();
    const enc = new TextEncoder();
    let stopped = false;
    (async () => {
      try {
        while (!stopped) {
          const { value, done } = await reader.read();
          if (done || !value) return;
          let data: Uint8Array = value;
          if (o.mux) {
            const r = filter.push(value);
            data = r.data;
            for (const n of r.notes) write(enc.encode(n));
            for (const a of r.actions) {
              if (a === "quit") {
                write(enc.encode("\r\ndeja: terminating on C-a x\r\n"));
                ctx.quit();
                return;
              }
              if (a === "help") write(enc.encode(EscapeFilter.helpText));
            }
          } else if (tty && data.includes(3)) {
            ctx.quit(); // Ctrl-C in raw mode
            return;
          }
          if (o.input && data.length > 0) ctx.emit("serial", data);
        }
      } catch {
        // stdin closed under us: nothing more to read
      }
    })();
    return {
      write,
      close: () => {
        stopped = true;
        reader.cancel().catch(() => {});
      },
    } satisfies BackendInstance;
  },
});

/**
 * `-serial tcp:127.0.0.1:PORT,server,nowait`: a TCP server on the loopback
 * interface. One client at a time; what it sends is serial input, guest
 * output goes to it (and is dropped while no client is connected). With
 * `wait=on` (QEMU's default for `server`), the guest starts only once a
 * client has connected.
 */
export const socketBackend: AnyBackendPlugin = defineBackendPlugin({
  ...common,
  name: "socket",
  description: "a TCP server on 127.0.0.1",
  produces: ["serial"],
  options: {
    host: {
      type: "string",
      default: "127.0.0.1",
      description: "the address to listen on",
    },
    port: {
      type: "number",
      required: true,
      min: 0,
      max: 65535,
      description: "the TCP port (0: any free port)",
    },
    wait: {
      type: "boolean",
      default: false,
      description: "wait for a client before the guest starts",
    },
  },
  permissions: (o) => [{ name: "net", host: o.host }],
  create: async (ctx, o) => {
    const listener = Deno.listen({ hostname: o.host, port: o.port });
    let conn: Deno.Conn | undefined;
    let closed = false;
    const serve = async (c: Deno.Conn) => {
      conn = c;
      const buf = new Uint8Array(4096);
      try {
        for (;;) {
          const n = await c.read(buf);
          if (n === null) break;
          ctx.emit("serial", buf.slice(0, n));
        }
      } catch {
        // the client went away
      }
      if (conn === c) conn = undefined;
      try {
        c.close();
      } catch {
        // already closed
      }
    };
    const accept = async () => {
      while (!closed) {
        let c: Deno.Conn;
        try {
          c = await listener.accept();
        } catch {
          return; // the listener was closed
        }
        if (conn) {
          c.close(); // one client at a time, as QEMU
          continue;
        }
        await serve(c);
      }
    };
    const addr = listener.addr as Deno.NetAddr;
    if (o.wait) {
      console.error(
        `deja: waiting for a connection on tcp:${addr.hostname}:${addr.port}`,
      );
      const first = await listener.accept();
      serve(first).then(accept);
    } else accept();
    return {
      port: addr.port,
      write: (b: Uint8Array) => {
        const c = conn;
        if (!c) return;
        c.write(b).catch(() => {
          if (conn === c) conn = undefined;
        });
      },
      close: () => {
        closed = true;
        listener.close();
        try {
          conn?.close();
        } catch {
          // already closed
        }
      },
    };
  },
});

/** The built-in character backends. */
export const CHAR_BACKENDS: readonly AnyBackendPlugin[] = [
  stdioBackend,
  nullBackend,
  fileBackend,
  socketBackend,
];
