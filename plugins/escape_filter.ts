/**
 * QEMU's Ctrl-A escape keys on the serial console (`mon:stdio`,
 * `-nographic`): the terminal backend (`char_backends.ts`) takes them out of
 * what the user types. `cli/terminal.ts` re-exports them for the command.
 *
 * @module
 */

/** What an escape key asks the emulator to do. */
export type EscapeAction = "quit" | "help" | "break" | "monitor";

/** The result of {@linkcode EscapeFilter.push}. */
export interface EscapeResult {
  /** The bytes for the guest, with the escapes removed. */
  data: Uint8Array;
  /** The escape actions, in the order they were typed. */
  actions: EscapeAction[];
  /** Messages for the user about keys that were ignored. */
  notes: string[];
}

const CTRL_A = 0x01;

/**
 * Takes QEMU's Ctrl-A escapes out of the bytes that the user types into the
 * serial console:
 *
 * | Keys         | Effect                                      |
 * | ------------ | ------------------------------------------- |
 * | C-a x        | the `quit` action                           |
 * | C-a h, C-a ? | the `help` action (print {@linkcode helpText}) |
 * | C-a b        | the `break` action (a serial break)         |
 * | C-a C-a      | one C-a for the guest                       |
 * | C-a c        | the `monitor` action (switch to or from the monitor) |
 * | C-a other    | both bytes go to the guest                  |
 *
 * (QEMU drops the other key; deja passes it on, so that nothing typed is
 * lost.) A C-a at the end of one push is combined with the first byte of the
 * next.
 *
 * @example Quit on Ctrl-A x
 * ```ts
 * import { EscapeFilter } from "./escape_filter.ts";
 * const filter = new EscapeFilter();
 * const first = filter.push(new Uint8Array([0x6c, 0x73, 0x01]));
 * const second = filter.push(new TextEncoder().encode("x"));
 * console.log(first.data, second.actions); // Uint8Array(2) [ 108, 115 ] [ "quit" ]
 * ```
 */
export class EscapeFilter {
  /**
   * The escape key list, printed on Ctrl-A h. Its lines end in `\r\n`
   * because the terminal is in raw mode.
   */
  static readonly helpText: string = [
    "C-a h    print this help",
    "C-a x    exit emulator",
    "C-a b    send break (magic sysrq)",
    "C-a c    switch between console and monitor",
    "C-a C-a  sends C-a",
    "",
  ].join("\r\n");

  #escaped = false;

  /**
   * The escape key list; the same as {@linkcode EscapeFilter.helpText}.
   *
   * @returns The help text, with `\r\n` line ends.
   */
  get helpText(): string {
    return EscapeFilter.helpText;
  }

  /**
   * Whether the last byte pushed was a C-a that waits for its key.
   *
   * @returns `true` between C-a and the next byte.
   */
  get pending(): boolean {
    return this.#escaped;
  }

  /**
   * Filters the next bytes that the user typed.
   *
   * @param bytes The bytes read from stdin.
   * @returns The bytes for the guest (`bytes` itself when it holds no
   * escape), and the actions and notes for the host.
   */
  push(bytes: Uint8Array): EscapeResult {
    const actions: EscapeAction[] = [];
    const notes: string[] = [];
    if (!this.#escaped && !bytes.includes(CTRL_A)) {
      return { data: bytes, actions, notes };
    }
    const data = new Uint8Array(bytes.length + 1);
    let length = 0;
    for (const byte of bytes) {
      if (!this.#escaped) {
        if (byte === CTRL_A) this.#escaped = true;
        else data[length++] = byte;
        continue;
      }
      this.#escaped = false;
      switch (byte) {
        case CTRL_A:
          data[length++] = CTRL_A;
          break;
        case 0x78: // x
          actions.push("quit");
          break;
        case 0x68: // h
        case 0x3f: // ?
          actions.push("help");
          break;
        case 0x62: // b
          actions.push("break");
          break;
        case 0x63: // c
          actions.push("monitor");
          break;
        default:
          data[length++] = CTRL_A;
          data[length++] = byte;
      }
    }
    return { data: data.subarray(0, length), actions, notes };
  }
}
