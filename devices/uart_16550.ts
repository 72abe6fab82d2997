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
import * as fields from "./_state_fields.ts";
import type { SavedFields } from "./_state_fields.ts";

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
  /** Version of the layout that {@linkcode Uart16550.saveState} returns. */
  static readonly stateVersion = 1;
  /** The 8-byte register window. */
  readonly regions: MmioRegion[];

  #irq: IrqLine;
  #output: (byte: number) => void;
  #clock: Pick<VirtualClock, "nowNs" | "newTimer"> | undefined;
  #timer: VirtualTimer | undefined;
  #baudBase: number;

  #divider = 0;
  #rbr = 0;
  #ier = 0;
  #iir = IIR_NO_INT;
  #lcr = 0;
  #mcr = 0;
  #lsr = 0;
  #msr = 0;
  #scr = 0;
  #fcr = 0;
  #itl = 1;
  #thrIpending = 0;
  #timeoutIpending = 0;
  #charTimeNs = RESET_CHAR_TIME_NS;
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
        this.#timeoutIpending = 1;
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
    if (this.#fcr & FCR_FE) {
      if (this.#rxCount >= FIFO_LENGTH) return 0;
      return this.#rxCount <= this.#itl ? this.#itl - this.#rxCount : 1;
    }
    return this.#lsr & LSR_DR ? 0 : 1;
  }

  /**
   * Deliver one byte from the backend.
   *
   * @param byte the byte (low 8 bits are used)
   * @returns false, and nothing changes, if the receive FIFO (or, with the
   * FIFO off, the holding register) is full
   */
  receive(byte: number): boolean {
    if (this.#fcr & FCR_FE) {
      if (this.#rxCount >= FIFO_LENGTH) return false;
    } else if (this.#lsr & LSR_DR) {
      return false;
    }
    this.#receive1(byte & 0xff);
    return true;
  }

  /** Return to the power-on register values and lower the interrupt. */
  reset(): void {
    // As QEMU's serial_reset_hold: FCR (and so the trigger level) survives.
    this.#rbr = 0;
    this.#ier = 0;
    this.#iir = IIR_NO_INT;
    this.#lcr = 0;
    this.#lsr = LSR_TEMT | LSR_THRE;
    this.#msr = MSR_DCD | MSR_DSR | MSR_CTS;
    this.#divider = 0x0c;
    this.#mcr = MCR_OUT2;
    this.#scr = 0;
    this.#charTimeNs = RESET_CHAR_TIME_NS;
    this.#timeoutIpending = 0;
    this.#timer?.del();
    this.#rxHead = 0;
    this.#rxCount = 0;
    this.#thrIpending = 0;
    this.#irq.set(false);
  }

  /**
   * Capture the device state.
   *
   * @returns named fields; `rxFifo` lists the queued bytes oldest first and
   * `timeoutDeadlineNs` is -1 when the timeout timer is idle
   */
  saveState(): Record<string, number | string | number[]> {
    const rxFifo: number[] = [];
    for (let i = 0; i < this.#rxCount; i++) {
      rxFifo.push(this.#rx[(this.#rxHead + i) % FIFO_LENGTH]!);
    }
    const deadline = this.#timer?.deadline ?? Infinity;
    return {
      divider: this.#divider,
      rbr: this.#rbr,
      ier: this.#ier,
      iir: this.#iir,
      lcr: this.#lcr,
      mcr: this.#mcr,
      lsr: this.#lsr,
      msr: this.#msr,
      scr: this.#scr,
      fcr: this.#fcr,
      thrIpending: this.#thrIpending,
      timeoutIpending: this.#timeoutIpending,
      charTimeNs: this.#charTimeNs,
      rxFifo,
      timeoutDeadlineNs: deadline === Infinity ? -1 : deadline,
    };
  }

  /**
   * Restore a state from {@linkcode Uart16550.saveState}. The interrupt line
   * is not driven: its receiver restores its own view.
   *
   * @param s the saved fields
   * @throws {TypeError} if a field is missing or has the wrong type
   */
  loadState(s: Record<string, number | string | number[]>): void {
    const rxFifo = bytesField(s, "rxFifo");
    if (rxFifo.length > FIFO_LENGTH) {
      throw new RangeError(
        `Cannot load uart state: rxFifo holds ${rxFifo.length} bytes, more than ${FIFO_LENGTH}`,
      );
    }
    this.#divider = numField(s, "divider") & 0xffff;
    this.#rbr = numField(s, "rbr") & 0xff;
    this.#ier = numField(s, "ier") & 0x0f;
    this.#lcr = numField(s, "lcr") & 0xff;
    this.#mcr = numField(s, "mcr") & 0x1f;
    this.#lsr = numField(s, "lsr") & 0xff;
    this.#msr = numField(s, "msr") & 0xff;
    this.#scr = numField(s, "scr") & 0xff;
    this.#setFcr(numField(s, "fcr") & 0xc9);
    this.#iir = numField(s, "iir") & 0xff;
    this.#thrIpending = numField(s, "thrIpending") ? 1 : 0;
    this.#timeoutIpending = numField(s, "timeoutIpending") ? 1 : 0;
    this.#charTimeNs = numField(s, "charTimeNs");
    this.#rxHead = 0;
    this.#rxCount = rxFifo.length;
    this.#rx.fill(0);
    this.#rx.set(rxFifo);
    const deadline = numField(s, "timeoutDeadlineNs");
    if (deadline < 0) this.#timer?.del();
    else this.#timer?.mod(deadline);
  }

  #rxPop(): number {
    const b = this.#rx[this.#rxHead]!;
    this.#rxHead = (this.#rxHead + 1) % FIFO_LENGTH;
    this.#rxCount--;
    return b;
  }

  #armTimeout(): void {
    const clock = this.#clock;
    if (clock) this.#timer!.mod(clock.nowNs() + this.#charTimeNs * 4);
  }

  #updateIrq(): void {
    let id = IIR_NO_INT;
    const ier = this.#ier;
    const lsr = this.#lsr;
    if ((ier & IER_RLSI) && (lsr & LSR_INT_ANY)) {
      id = IIR_RLSI;
    } else if ((ier & IER_RDI) && this.#timeoutIpending) {
      id = IIR_CTI;
    } else if (
      (ier & IER_RDI) && (lsr & LSR_DR) &&
      (!(this.#fcr & FCR_FE) || this.#rxCount >= this.#itl ||
        this.#clock === undefined)
    ) {
      id = IIR_RDI;
    } else if ((ier & IER_THRI) && this.#thrIpending) {
      id = IIR_THRI;
    } else if ((ier & IER_MSI) && (this.#msr & MSR_ANY_DELTA)) {
      id = IIR_MSI;
    }
    this.#iir = id | (this.#iir & 0xf0);
    this.#irq.set(id !== IIR_NO_INT);
  }

  #updateParameters(): void {
    let frame = 1;
    if (this.#lcr & 0x08) frame++;
    frame += (this.#lcr & 0x03) + 5 + (this.#lcr & 0x04 ? 2 : 1);
    // QEMU computes this in single precision; Math.fround reproduces it.
    const speed = this.#divider === 0
      ? 3500
      : Math.fround(this.#baudBase / this.#divider);
    this.#charTimeNs = Math.trunc(
      Math.fround(Math.fround(1e9 / speed) * frame),
    );
  }

  #setFcr(value: number): void {
    this.#fcr = value;
    if (value & FCR_FE) {
      this.#iir |= IIR_FE;
      this.#itl = [1, 4, 8, 14][value >> 6]!;
    } else {
      this.#iir &= ~IIR_FE;
    }
  }

  #receive1(byte: number): void {
    if (this.#fcr & FCR_FE) {
      if (this.#rxCount < FIFO_LENGTH) {
        this.#rx[(this.#rxHead + this.#rxCount) % FIFO_LENGTH] = byte;
        this.#rxCount++;
      } else {
        this.#lsr |= LSR_OE;
      }
      this.#lsr |= LSR_DR;
      this.#armTimeout();
    } else {
      if (this.#lsr & LSR_DR) this.#lsr |= LSR_OE;
      this.#rbr = byte;
      this.#lsr |= LSR_DR;
    }
    this.#updateIrq();
  }

  #transmit(byte: number): void {
    this.#thrIpending = 0;
    this.#lsr &= ~(LSR_THRE | LSR_TEMT);
    this.#updateIrq();
    // The shift register takes the byte at once, so THR is empty again.
    this.#lsr |= LSR_THRE;
    if (!this.#thrIpending) {
      this.#thrIpending = 1;
      this.#updateIrq();
    }
    if (this.#mcr & MCR_LOOP) this.#receive1(byte);
    else this.#output(byte);
    this.#lsr |= LSR_TEMT;
  }

  #read(reg: number): number {
    switch (reg) {
      case 0: {
        if (this.#lcr & LCR_DLAB) return this.#divider & 0xff;
        let ret: number;
        if (this.#fcr & FCR_FE) {
          ret = this.#rxCount === 0 ? 0 : this.#rxPop();
          if (this.#rxCount === 0) this.#lsr &= ~(LSR_DR | LSR_BI);
          else this.#armTimeout();
          this.#timeoutIpending = 0;
        } else {
          ret = this.#rbr;
          this.#lsr &= ~(LSR_DR | LSR_BI);
        }
        this.#updateIrq();
        return ret;
      }
      case 1:
        return this.#lcr & LCR_DLAB ? this.#divider >> 8 : this.#ier;
      case 2: {
        const ret = this.#iir;
        if ((ret & IIR_ID) === IIR_THRI) {
          this.#thrIpending = 0;
          this.#updateIrq();
        }
        return ret;
      }
      case 3:
        return this.#lcr;
      case 4:
        return this.#mcr;
      case 5: {
        const ret = this.#lsr;
        if (ret & (LSR_BI | LSR_OE)) {
          this.#lsr &= ~(LSR_BI | LSR_OE);
          this.#updateIrq();
        }
        return ret;
      }
      case 6: {
        if (this.#mcr & MCR_LOOP) {
          // In loopback the modem outputs feed the inputs.
          return ((this.#mcr & 0x0c) << 4) | ((this.#mcr & 0x02) << 3) |
            ((this.#mcr & 0x01) << 5);
        }
        const ret = this.#msr;
        if (ret & MSR_ANY_DELTA) {
          this.#msr &= 0xf0;
          this.#updateIrq();
        }
        return ret;
      }
      default:
        return this.#scr;
    }
  }

  #write(reg: number, value: number): void {
    switch (reg) {
      case 0:
        if (this.#lcr & LCR_DLAB) {
          this.#divider = (this.#divider & 0xff00) | value;
          this.#updateParameters();
        } else {
          this.#transmit(value);
        }
        return;
      case 1:
        if (this.#lcr & LCR_DLAB) {
          this.#divider = (this.#divider & 0x00ff) | (value << 8);
          this.#updateParameters();
        } else {
          const changed = (this.#ier ^ value) & 0x0f;
          this.#ier = value & 0x0f;
          if (changed & IER_THRI) {
            // Turning THRI on re-samples THRE, as QEMU (and Windows) expect.
            this.#thrIpending = (this.#ier & IER_THRI) && (this.#lsr & LSR_THRE)
              ? 1
              : 0;
          }
          if (changed) this.#updateIrq();
        }
        return;
      case 2: {
        let v = value;
        if ((v ^ this.#fcr) & FCR_FE) v |= FCR_XFR | FCR_RFR;
        if (v & FCR_RFR) {
          this.#lsr &= ~(LSR_DR | LSR_BI);
          this.#timer?.del();
          this.#timeoutIpending = 0;
          this.#rxHead = 0;
          this.#rxCount = 0;
        }
        if (v & FCR_XFR) {
          this.#lsr |= LSR_THRE;
          this.#thrIpending = 1;
        }
        this.#setFcr(v & 0xc9);
        this.#updateIrq();
        return;
      }
      case 3:
        this.#lcr = value;
        this.#updateParameters();
        return;
      case 4:
        this.#mcr = value & 0x1f;
        return;
      case 7:
        this.#scr = value;
        return;
      default:
        // LSR and MSR are read-only.
        return;
    }
  }
}

const numField = (s: SavedFields, key: string): number =>
  fields.numField("uart", s, key);

const bytesField = (s: SavedFields, key: string): number[] =>
  fields.bytesField("uart", s, key);
