// Test helper: a tiny guest, assembled here, that reads MMIO words, stores
// them in RAM after its code (0x80001000 up, with -bios none), and powers
// off through the test finisher.

const T0 = 5, T2 = 7, T3 = 28, T4 = 29, A0 = 10;
const lui = (rd: number, imm20: number) => 0x37 | rd << 7 | imm20 << 12;
const auipc = (rd: number, imm20: number) => 0x17 | rd << 7 | imm20 << 12;
const addiw = (rd: number, rs1: number, imm: number) =>
  0x1b | rd << 7 | rs1 << 15 | imm << 20;
const lw = (rd: number, rs1: number, off: number) =>
  0x03 | rd << 7 | 2 << 12 | rs1 << 15 | off << 20;
const sw = (rs2: number, rs1: number, off: number) =>
  0x23 | (off & 0x1f) << 7 | 2 << 12 | rs1 << 15 | rs2 << 20 |
  (off >> 5) << 25;

/**
 * A kernel (for `-bios none`, loaded at 0x80000000) that loads a word from
 * each `[base, offset]` in turn, stores the words at 0x80001000 up (4 KiB
 * after its first instruction), and powers off.
 *
 * @param reads the MMIO words to read
 * @returns the machine code
 */
export function reader(reads: readonly [number, number][]): Uint8Array {
  const code: number[] = [auipc(T2, 1)]; // t2 = the page after this code
  reads.forEach(([base, off], i) => {
    code.push(lui(T0, base >>> 12), lw(A0, T0, off), sw(A0, T2, i * 4));
  });
  code.push(
    lui(T3, 0x100), // 0x100000: the test finisher
    lui(T4, 0x5),
    addiw(T4, T4, 0x555), // 0x5555: pass
    sw(T4, T3, 0),
  );
  return new Uint8Array(Uint32Array.from(code).buffer);
}
