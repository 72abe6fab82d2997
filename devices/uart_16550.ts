/**
 * The 16550A UART of the `virt` board, as QEMU models it.
 *
 * Reference: the TI/National PC16550D datasheet (register map, IIR
 * priorities, FIFO trigger levels, character-timeout indication), with the
 * behaviour of QEMU's `hw/char/serial.c` where the two differ: the THRE
 * interrupt re-arms when IER.THRI is turned on, an FCR write that flushes the
 * transmitter raises THRE, and `rxSpace` advertises bytes up to the trigger
 * level only. The register stride is 1 (`regshift` 0) and the baud base is
 * 399193, as `hw/riscv/virt.c` passes them.
 *
 * Left out: the transmit FIFO and transmit timing (a byte written to THR goes
 * to `output` at once, so THRE and TEMT are set again before the write
 * returns), modem-status polling of a host tty (MSR always reads DCD, DSR and
 * CTS), break input and parity/framing errors, and DMA mode. QEMU also accepts
 * 8-byte accesses; the bus splits those into two 4-byte register accesses, so
 * here they fault instead.
 *
 * @module
 */

import type { MmioRegion } from "../core/bus.ts";
import type { VirtualClock, VirtualTimer } from "../core/clock.ts";
import type { IrqLine } from "../core/irq.ts";
import {
  defineState,
  newState,
  rearmTimer,
  type StateDescription,
  type StateValues,
  timerDeadline,
} from "../plugins/state.ts";

const FIFO_LENGTH = 16;

const LCR_DLAB = 0x80;

const IER_MSI = 0x08;
const IER_RLSI = 0x04;
const IER_THRI = 0x02;
const IER_RDI = 0x01;

const IIR_NO_INT = 0x01;
const IIR_ID = 0x06;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_CTI = 0x0c;
const IIR_FE = 0xc0;

const MCR_LOOP = 0x10;
const MCR_OUT2 = 0x08;

const MSR_DCD = 0x80;
const MSR_DSR = 0x20;
const MSR_CTS = 0x10;
const MSR_ANY_DELTA = 0x0f;

const LSR_TEMT = 0x40;
const LSR_THRE = 0x20;
const LSR_BI = 0x10;
const LSR_OE = 0x02;
const LSR_DR = 0x01;
const LSR_INT_ANY = 0x1e;

const FCR_XFR = 0x04;
const FCR_RFR = 0x02;
const FCR_FE = 0x01;

/** Character time after reset: 9600 baud, 10 bits, as QEMU's reset sets it. */
const RESET_CHAR_TIME_NS = Math.trunc(1e9 / 9600) * 10;

/** The fields of {@linkcode uartState}. */
export const uartFields = {
  divider: "u16",
  rbr: "u8",
  ier: "u8",
  iir: "u8",
  lcr: "u8",
  mcr: "u8",
  lsr: "u8",
  msr: "u8",
  scr: "u8",
  fcr: "u8",
  thrIpending: "u8",
  timeoutIpending: "u8",
  charTimeNs: "int",
  rxFifo: "bytes",
  timeoutDeadlineNs: "f64",
} as const;

/**
 * The UART's state, version 1: the registers, the pending THRE and
 * character-timeout indications, the character time, the received bytes
 * waiting in the FIFO (oldest first), and the timeout timer's deadline in
 * virtual ns (-1 when idle).
 */
export const uartState: StateDescription<typeof uartFields> = defineState({
  name: "ns16550a",
  version: 1,
  fields: uartFields,
});

/** Options for {@linkcode Uart16550}. */
export interface Uart16550Options {
  /** Physical base address (`UART0_BASE` on `virt`). */
  base: number;
  /** The interrupt line, usually a PLIC source. */
  irq: IrqLine;
  /** Receives each transmitted byte: the backend. */
  output: (byte: number) => void;
  /**
   * The virtual clock, for the receive FIFO's character-timeout interrupt
   * (four character times after the last byte, as QEMU times it). Without
   * it, any byte left below the trigger level raises the received-data
   * interrupt at once.
   *
   * @default {undefined}
   */
  clock?: Pick<VirtualClock, "nowNs" | "newTimer">;
  /**
   * Input clock divided by 16, in Hz; sets the character time.
   *
   * @default {399193}
   */
  baudBase?: number;
}

/**
 * A ns16550a UART with a 16-byte receive FIFO.
 *
 * @example Transmit a byte and receive one
 * ```ts
 * import { Uart16550 } from "./uart_16550.ts";
 * const out: number[] = [];
 * const uart = new Uart16550({
 *   base: 0x1000_0000,
 *   irq: { set() {} },
 *   output: (b) => out.push(b),
 * });
 * const [r] = uart.regions;
 * r!.write(0, 1, 0x41); // THR
 * uart.receive(0x42);
 * if (out[0] !== 0x41 || r!.read(0, 1) !== 0x42) throw new Error("unreachable");
 * ```
 */
export class Uart16550 {
  /**
   * The live state, declared by {@linkcode uartState}. The receive FIFO
   * runs as a ring outside it; `rxFifo` and `timeoutDeadlineNs` are brought
   * up to date by {@linkcode Uart16550.beforeSave}.
   */
  readonly state: StateValues<typeof uartFields> = newState(uartState, {
    iir: IIR_NO_INT,
    charTimeNs: RESET_CHAR_TIME_NS,
    timeoutDeadlineNs: -1,
  });
  /** The 8-byte register window. */
  readonly regions: MmioRegion[];

  #irq: IrqLine;
  #output: (byte: number) => void;
  #clock: Pick<VirtualClock, "nowNs" | "newTimer"> | undefined;
  #timer: VirtualTimer | undefined;
  #baudBase: number;

  #itl = 1;
  #rx = new Uint8Array(FIFO_LENGTH);
  #rxHead = 0;
  #rxCount = 0;

  /**
   * Make a UART in its reset state.
   *
   * @param options where it sits and what it is wired to
   */
  constructor(options: Uart16550Options) {
    this.#irq = options.irq;
    this.#output = options.output;
    this.#clock = options.clock;
    this.#baudBase = options.baudBase ?? 399193;
    this.#timer = this.#clock?.newTimer("uart.fifo-timeout", () => {
      if (this.#rxCount > 0) {
        this.state.timeoutIpending = 1;
        this.#updateIrq();
      }
    });
    this.regions = [{
      name: "uart",
      base: options.base,
      size: 8,
      accessSizes: [1, 2, 4],
      read: (offset) => this.#read(offset & 7),
      write: (offset, _size, value) => this.#write(offset & 7, value & 0xff),
    }];
    this.reset();
  }

  /**
   * How many bytes the backend should offer now: QEMU's `can_receive`. With
   * the FIFO on, that is the room up to the trigger level (0 once it is
   * reached, 1 above it, so the guest sees its interrupt before the FIFO
   * fills); with the FIFO off, 1 if the holding register is empty.
   */
  get rxSpace(): number {
    if (this.state.fcr & FCR_FE) {
      if (this.#rxCount >= FIFO_LENGTH) return 0;
      return this.#rxCount <= this.#itl ? this.#itl - this.#rxCount : 1;
    }
    return this.state.lsr & LSR_DR ? 0 : 1;
  }

  /**
   * Deliver one byte from the backend.
   *
   * @param byte the byte (low 8 bits are used)
   * @returns false, and nothing changes, if the receive FIFO (or, with the
   * FIFO off, the holding register) is full
   */
  receive(byte: number): boolean {
    if (this.state.fcr & FCR_FE) {
      if (this.#rxCount >= FIFO_LENGTH) return false;
    } else if (this.state.lsr & LSR_DR) {
      return false;
    }
    this.#receive1(byte & 0xff);
    return true;
  }

  /** Return to the power-on register values and lower the interrupt. */
  reset(): void {
    // As QEMU's serial_reset_hold: FCR (and so the trigger level) survives.
    this.state.rbr = 0;
    this.state.ier = 0;
    this.state.iir = IIR_NO_INT;
    this.state.lcr = 0;
    this.state.lsr = LSR_TEMT | LSR_THRE;
    this.state.msr = MSR_DCD | MSR_DSR | MSR_CTS;
    this.state.divider = 0x0c;
    this.state.mcr = MCR_OUT2;
    this.state.scr = 0;
    this.state.charTimeNs = RESET_CHAR_TIME_NS;
    this.state.timeoutIpending = 0;
    this.#timer?.del();
    this.#rxHead = 0;
    this.#rxCount = 0;
    this.state.thrIpending = 0;
    this.#irq.set(false);
  }

  /**
   * Copy the receive ring (oldest byte first) and the timeout timer's
   * deadline into the state (QEMU's `pre_save`).
   */
  beforeSave(): void {
    const fifo = new Uint8Array(this.#rxCount);
    for (let i = 0; i < this.#rxCount; i++) {
      fifo[i] = this.#rx[(this.#rxHead + i) % FIFO_LENGTH]!;
    }
    this.state.rxFifo = fifo;
    this.state.timeoutDeadlineNs = timerDeadline(this.#timer);
  }

  /**
   * Rebuild the receive ring, the trigger level and the timeout timer from
   * a restored state. The interrupt line is not driven: the PLIC restores
   * its own inputs.
   *
   * @throws {RangeError} if the FIFO holds more than 16 bytes
   */
  afterLoad(): void {
    const s = this.state;
    const rxFifo = s.rxFifo;
    if (rxFifo.length > FIFO_LENGTH) {
      throw new RangeError(
        `Cannot load uart state: rxFifo holds ${rxFifo.length} bytes, more than ${FIFO_LENGTH}`,
      );
    }
    s.ier &= 0x0f;
    s.mcr &= 0x1f;
    const iir = s.iir;
    this.#setFcr(s.fcr & 0xc9);
    s.iir = iir;
    s.thrIpending = s.thrIpending ? 1 : 0;
    s.timeoutIpending = s.timeoutIpending ? 1 : 0;
    this.#rxHead = 0;
    this.#rxCount = rxFifo.length;
    this.#rx.fill(0);
    this.#rx.set(rxFifo);
    rearmTimer(this.#timer, s.timeoutDeadlineNs);
  }

  #rxPop(): number {
    const b = this.#rx[this.#rxHead]!;
    this.#rxHead = (this.#rxHead + 1) % FIFO_LENGTH;
    this.#rxCount--;
    return b;
  }

  #armTimeout(): void {
    const clock = this.#clock;
    if (clock) this.#timer!.mod(clock.nowNs() + this.state.charTimeNs * 4);
  }

  #updateIrq(): void {
    let id = IIR_NO_INT;
    const ier = this.state.ier;
    const lsr = this.state.lsr;
    if ((ier & IER_RLSI) && (lsr & LSR_INT_ANY)) {
      id = IIR_RLSI;
    } else if ((ier & IER_RDI) && this.state.timeoutIpending) {
      id = IIR_CTI;
    } else if (
      (ier & IER_RDI) && (lsr & LSR_DR) &&
      (!(this.state.fcr & FCR_FE) || this.#rxCount >= this.#itl ||
        this.#clock === undefined)
    ) {
      id = IIR_RDI;
    } else if ((ier & IER_THRI) && this.state.thrIpending) {
      id = IIR_THRI;
    } else if ((ier & IER_MSI) && (this.state.msr & MSR_ANY_DELTA)) {
      id = IIR_MSI;
    }
    this.state.iir = id | (this.state.iir & 0xf0);
    this.#irq.set(id !== IIR_NO_INT);
  }

  #updateParameters(): void {
    let frame = 1;
    if (this.state.lcr & 0x08) frame++;
    frame += (this.state.lcr & 0x03) + 5 + (this.state.lcr & 0x04 ? 2 : 1);
    // QEMU computes this in single precision; Math.fround reproduces it.
    const speed = this.state.divider === 0
      ? 3500
      : Math.fround(this.#baudBase / this.state.divider);
    this.state.charTimeNs = Math.trunc(
      Math.fround(Math.fround(1e9 / speed) * frame),
    );
  }

  #setFcr(value: number): void {
    this.state.fcr = value;
    if (value & FCR_FE) {
      this.state.iir |= IIR_FE;
      this.#itl = [1, 4, 8, 14][value >> 6]!;
    } else {
      this.state.iir &= ~IIR_FE;
    }
  }

  #receive1(byte: number): void {
    if (this.state.fcr & FCR_FE) {
      if (this.#rxCount < FIFO_LENGTH) {
        this.#rx[(this.#rxHead + this.#rxCount) % FIFO_LENGTH] = byte;
        this.#rxCount++;
      } else {
        this.state.lsr |= LSR_OE;
      }
      this.state.lsr |= LSR_DR;
      this.#armTimeout();
    } else {
      if (this.state.lsr & LSR_DR) this.state.lsr |= LSR_OE;
      this.state.rbr = byte;
      this.state.lsr |= LSR_DR;
    }
    this.#updateIrq();
  }

  #transmit(byte: number): void {
    this.state.thrIpending = 0;
    this.state.lsr &= ~(LSR_THRE | LSR_TEMT);
    this.#updateIrq();
    // The shift register takes the byte at once, so THR is empty again.
    this.state.lsr |= LSR_THRE;
    if (!this.state.thrIpending) {
      this.state.thrIpending = 1;
      this.#updateIrq();
    }
    if (this.state.mcr & MCR_LOOP) this.#receive1(byte);
    else this.#output(byte);
    this.state.lsr |= LSR_TEMT;
  }

  #read(reg: number): number {
    switch (reg) {
      case 0: {
        if (this.state.lcr & LCR_DLAB) return this.state.divider & 0xff;
        let ret: number;
        if (this.state.fcr & FCR_FE) {
          ret = this.#rxCount === 0 ? 0 : this.#rxPop();
          if (this.#rxCount === 0) this.state.lsr &= ~(LSR_DR | LSR_BI);
          else this.#armTimeout();
          this.state.timeoutIpending = 0;
        } else {
          ret = this.state.rbr;
          this.state.lsr &= ~(LSR_DR | LSR_BI);
        }
        this.#updateIrq();
        return ret;
      }
      case 1:
        return this.state.lcr & LCR_DLAB
          ? this.state.divider >> 8
          : this.state.ier;
      case 2: {
        const ret = this.state.iir;
        if ((ret & IIR_ID) === IIR_THRI) {
          this.state.thrIpending = 0;
          this.#updateIrq();
        }
        return ret;
      }
      case 3:
        return this.state.lcr;
      case 4:
        return this.state.mcr;
      case 5: {
        const ret = this.state.lsr;
        if (ret & (LSR_BI | LSR_OE)) {
          this.state.lsr &= ~(LSR_BI | LSR_OE);
          this.#updateIrq();
        }
        return ret;
      }
      case 6: {
        if (this.state.mcr & MCR_LOOP) {
          // In loopback the modem outputs feed the inputs.
          return ((this.state.mcr & 0x0c) << 4) |
            ((this.state.mcr & 0x02) << 3) |
            ((this.state.mcr & 0x01) << 5);
        }
        const ret = this.state.msr;
        if (ret & MSR_ANY_DELTA) {
          this.state.msr &= 0xf0;
          this.#updateIrq();
        }
        return ret;
      }
      default:
        return this.state.scr;
    }
  }

  #write(reg: number, value: number): void {
    switch (reg) {
      case 0:
        if (this.state.lcr & LCR_DLAB) {
          this.state.divider = (this.state.divider & 0xff00) | value;
          this.#updateParameters();
        } else {
          this.#transmit(value);
        }
        return;
      case 1:
        if (this.state.lcr & LCR_DLAB) {
          this.state.divider = (this.state.divider & 0x00ff) | (value << 8);
          this.#updateParameters();
        } else {
          const changed = (this.state.ier ^ value) & 0x0f;
          this.state.ier = value & 0x0f;
          if (changed & IER_THRI) {
            // Turning THRI on re-samples THRE, as QEMU (and Windows) expect.
            this.state.thrIpending =
              (this.state.ier & IER_THRI) && (this.state.lsr & LSR_THRE)
                ? 1
                : 0;
          }
          if (changed) this.#updateIrq();
        }
        return;
      case 2: {
        let v = value;
        if ((v ^ this.state.fcr) & FCR_FE) v |= FCR_XFR | FCR_RFR;
        if (v & FCR_RFR) {
          this.state.lsr &= ~(LSR_DR | LSR_BI);
          this.#timer?.del();
          this.state.timeoutIpending = 0;
          this.#rxHead = 0;
          this.#rxCount = 0;
        }
        if (v & FCR_XFR) {
          this.state.lsr |= LSR_THRE;
          this.state.thrIpending = 1;
        }
        this.#setFcr(v & 0xc9);
        this.#updateIrq();
        return;
      }
      case 3:
        this.state.lcr = value;
        this.#updateParameters();
        return;
      case 4:
        this.state.mcr = value & 0x1f;
        return;
      case 7:
        this.state.scr = value;
        return;
      default:
        // LSR and MSR are read-only.
        return;
    }
  }
}
