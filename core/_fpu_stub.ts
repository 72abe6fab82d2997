// Temporary stand-in until core/_fpu.ts lands: register moves only.
export class Fpu {
  fflags = 0;
  frm = 0;
  #f: Int32Array;
  #x: Int32Array;
  constructor(f: Int32Array, x: Int32Array) {
    this.#f = f;
    this.#x = x;
  }
  exec(i: number): boolean {
    const rd = (i >>> 7) & 31, rs1 = (i >>> 15) & 31;
    const f7 = i >>> 25, f = this.#f, x = this.#x;
    if ((i & 0x7f) !== 0x53) return false;
    if (f7 === 0x78) {
      f[rd * 2] = x[rs1 * 2]!;
      f[rd * 2 + 1] = -1;
      return true;
    }
    if (f7 === 0x79) {
      f[rd * 2] = x[rs1 * 2]!;
      f[rd * 2 + 1] = x[rs1 * 2 + 1]!;
      return true;
    }
    if (f7 === 0x71 && rd) {
      x[rd * 2] = f[rs1 * 2]!;
      x[rd * 2 + 1] = f[rs1 * 2 + 1]!;
      return true;
    }
    if (f7 === 0x70 && rd) {
      x[rd * 2] = f[rs1 * 2]!;
      x[rd * 2 + 1] = f[rs1 * 2]! >> 31;
      return true;
    }
    return false;
  }
}
