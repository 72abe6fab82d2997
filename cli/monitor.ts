/**
 * deja's monitor: a few of QEMU's human monitor commands on the terminal,
 * reached with Ctrl-A c on a `mon:stdio` console (and, in a replay, where
 * stdin is not the guest's, also with Ctrl-C).
 *
 * | command            | effect                                            |
 * | ------------------ | ------------------------------------------------- |
 * | `stop`             | stop the machine at its next checkpoint           |
 * | `cont`, `c`        | resume it                                         |
 * | `info replay`      | record/replay mode, instruction count, log position |
 * | `info status`      | running or paused                                 |
 * | `quit`, `q`        | end the run (a recording gets its end event)      |
 * | `help`, `?`        | list the commands                                 |
 *
 * Stopping takes the replay mutex and keeps it, so the vCPU waits at its next
 * checkpoint; nothing about the guest's timeline changes, and a replay that
 * was stopped and resumed matches its recording.
 *
 * @module
 */

/** What the monitor's commands act on (the CLI's main loop). */
export interface MonitorTarget {
  /** Stop the machine; resolves once it is stopped. */
  stop(): Promise<void> | void;
  /** Resume the machine. */
  cont(): Promise<void> | void;
  /** Whether the machine is stopped. */
  readonly stopped: boolean;
  /**
   * The text of `info replay`, one or more lines without line ends.
   *
   * @returns the text
   */
  infoReplay(): Promise<string> | string;
  /** End the run. */
  quit(): Promise<void> | void;
}

/** Options for {@linkcode Monitor}. */
export interface MonitorOptions {
  /** Where the monitor's text goes (the terminal, in raw mode). */
  write: (text: string) => void;
  /**
   * Echo what is typed (a terminal in raw mode does not).
   *
   * @default {false}
   */
  echo?: boolean;
  /**
   * More commands (the debugging ones of cli/debug_server.ts): returns the
   * output of a line it knows, undefined for one it does not.
   */
  extra?: (line: string) => Promise<string | undefined> | string | undefined;
}

const PROMPT = "(deja) ";
const HELP = [
  "stop           stop the machine",
  "cont|c         resume the machine",
  "info replay    show the record/replay mode, instruction count and log position",
  "info status    show whether the machine runs",
  "quit|q         end the run",
  "help|?         list the commands",
];
const DEBUG_HELP = [
  "replay_break N         stop the replay at instruction N",
  "replay_delete_break    forget the replay breakpoint",
  "info registers         show the hart's registers",
  "info breakpoints       list the replay breakpoint and gdb's breakpoints",
  "x /NFU ADDR            show memory at a virtual address (F x|d|u, U b|h|w|g)",
  "xp /NFU ADDR           show memory at a physical address",
  "gdbserver [tcp::PORT]  start the GDB stub",
];

/**
 * Reads monitor commands from the bytes typed while the monitor is active,
 * and runs them one at a time, in order.
 *
 * @example Stop and resume a machine
 * ```ts
 * import { Monitor } from "./monitor.ts";
 * let stopped = false;
 * let out = "";
 * const monitor = new Monitor({
 *   get stopped() { return stopped; },
 *   stop: () => { stopped = true; },
 *   cont: () => { stopped = false; },
 *   infoReplay: () => "Record/replay is not active",
 *   quit: () => {},
 * }, { write: (t) => (out += t) });
 * monitor.enter();
 * await monitor.push(new TextEncoder().encode("stop\ninfo status\n"));
 * console.log(stopped, out.includes("VM status: paused")); // true true
 * ```
 */
export class Monitor {
  #target: MonitorTarget;
  #write: (text: string) => void;
  #echo: boolean;
  #extra: MonitorOptions["extra"];
  #line: number[] = [];
  #lastCr = false;
  #active = false;
  #chain: Promise<void> = Promise.resolve();

  /**
   * Make a monitor.
   *
   * @param target what the commands act on
   * @param options where the text goes, and whether to echo
   */
  constructor(target: MonitorTarget, options: MonitorOptions) {
    this.#target = target;
    this.#write = options.write;
    this.#echo = options.echo ?? false;
    this.#extra = options.extra;
  }

  /**
   * Run one command line and return its output (for gdb's `monitor` and
   * QMP's `human-monitor-command`), without the prompt.
   *
   * @param line the command
   * @returns what it printed, lines ending in `\r\n`
   */
  execute(line: string): Promise<string> {
    const run = async () => {
      let out = "";
      const write = this.#write, active = this.#active;
      this.#write = (t) => (out += t);
      this.#active = false;
      try {
        await this.#run(line.trim());
      } finally {
        this.#write = write;
        this.#active = active;
      }
      return out;
    };
    const next = this.#chain.then(run);
    this.#chain = next.then(() => {}, () => {});
    return next;
  }

  /**
   * Whether typed bytes go to the monitor (rather than the guest).
   *
   * @returns true between {@linkcode Monitor.enter} and
   *   {@linkcode Monitor.leave}
   */
  get active(): boolean {
    return this.#active;
  }

  /** Switch the console to the monitor: print the banner and a prompt. */
  enter(): void {
    if (this.#active) return;
    this.#active = true;
    this.#line = [];
    this.#write(
      "\r\ndeja monitor: stop, cont, info replay, quit (help lists them; C-a c returns to the console)\r\n" +
        PROMPT,
    );
  }

  /** Switch the console back to the guest. */
  leave(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#write("\r\n");
  }

  /**
   * Take bytes typed while the monitor is active. Lines end at CR or LF;
   * backspace (0x08, 0x7f) edits the line.
   *
   * @param bytes what was typed
   * @returns a promise that settles when the commands of the complete lines
   *   have run
   */
  push(bytes: Uint8Array): Promise<void> {
    for (const b of bytes) {
      const cr = this.#lastCr;
      this.#lastCr = b === 0x0d;
      if (b === 0x0a && cr) continue; // CR LF is one line end
      if (b === 0x0d || b === 0x0a) {
        const line = String.fromCharCode(...this.#line).trim();
        this.#line = [];
        if (this.#echo) this.#write("\r\n");
        this.#chain = this.#chain.then(() => this.#run(line));
      } else if (b === 0x08 || b === 0x7f) {
        if (this.#line.length > 0) {
          this.#line.pop();
          if (this.#echo) this.#write("\b \b");
        }
      } else if (b >= 0x20 && b < 0x7f) {
        this.#line.push(b);
        if (this.#echo) this.#write(String.fromCharCode(b));
      }
    }
    return this.#chain;
  }

  async #run(line: string): Promise<void> {
    const t = this.#target;
    const words = line.split(/\s+/).filter((w) => w !== "");
    const [cmd, arg] = words;
    try {
      switch (cmd) {
        case undefined:
          break;
        case "stop":
          await t.stop();
          break;
        case "cont":
        case "c":
          await t.cont();
          break;
        case "info":
          if (arg === "replay") this.#lines(await t.infoReplay());
          else if (arg === "status") {
            this.#lines(`VM status: ${t.stopped ? "paused" : "running"}`);
          } else {
            const out = await this.#extra?.(line);
            if (out !== undefined) this.#lines(out);
            else this.#lines("info replay|status");
          }
          break;
        case "quit":
        case "q":
          await t.quit();
          return; // no prompt after quit
        case "help":
        case "?":
          this.#lines([...HELP, ...(this.#extra ? DEBUG_HELP : [])].join("\n"));
          break;
        default: {
          const out = await this.#extra?.(line);
          if (out === undefined) {
            this.#lines(`unknown command: '${cmd}' (help lists the commands)`);
          } else if (out !== "") this.#lines(out);
        }
      }
    } catch (err) {
      this.#lines(err instanceof Error ? err.message : String(err));
    }
    if (this.#active) this.#write(PROMPT);
  }

  #lines(text: string): void {
    this.#write(text.split("\n").join("\r\n") + "\r\n");
  }
}
