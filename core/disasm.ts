/**
 * A disassembler for RV64GC: every instruction of RV64I, M, A, F, D, C,
 * Zicsr and Zifencei, and the privileged `mret`, `sret`, `wfi` and
 * `sfence.vma`, printed in the GNU assembler's syntax with ABI register
 * names. Used by the lockstep tester and by instrumentation.
 *
 * Reference: RISC-V Unprivileged ISA 20191213 (chapter 24, "RV32/64G
 * Instruction Set Listings", and chapter 16, tables 16.5-16.7, for the
 * compressed quadrants) and Privileged ISA 1.12 (CSR addresses, table 2.2).
 *
 * The 32-bit instructions are described by one declarative table: name,
 * mask, match and operand format. Compressed instructions are printed under
 * their own `c.` names, and reserved encodings print as `illegal`.
 *
 * @module
 */

import { CSR_DEFS } from "./csr.ts";

/** ABI names of the integer registers. */
export const X_NAMES: readonly string[] = [
  "zero",
  "ra",
  "sp",
  "gp",
  "tp",
  "t0",
  "t1",
  "t2",
  "s0",
  "s1",
  "a0",
  "a1",
  "a2",
  "a3",
  "a4",
  "a5",
  "a6",
  "a7",
  "s2",
  "s3",
  "s4",
  "s5",
  "s6",
  "s7",
  "s8",
  "s9",
  "s10",
  "s11",
  "t3",
  "t4",
  "t5",
  "t6",
];

/** ABI names of the floating-point registers. */
export const F_NAMES: readonly string[] = [
  "ft0",
  "ft1",
  "ft2",
  "ft3",
  "ft4",
  "ft5",
  "ft6",
  "ft7",
  "fs0",
  "fs1",
  "fa0",
  "fa1",
  "fa2",
  "fa3",
  "fa4",
  "fa5",
  "fa6",
  "fa7",
  "fs2",
  "fs3",
  "fs4",
  "fs5",
  "fs6",
  "fs7",
  "fs8",
  "fs9",
  "fs10",
  "fs11",
  "ft8",
  "ft9",
  "ft10",
  "ft11",
];

/** Names of the CSRs that deja implements, from {@linkcode CSR_DEFS}. */
export const CSR_NAMES: ReadonlyMap<number, string> = new Map<number, string>(
  CSR_DEFS.map((d) => [d.num, d.name]),
);

/** Options for {@linkcode disassemble}. */
export interface DisassembleOptions {
  /**
   * The instruction's address: branch and jump targets then print as
   * absolute addresses instead of offsets.
   *
   * @default {undefined}
   */
  pc?: bigint | number;
}

/** Operand formats of the 32-bit table. */
type Format =
  | "r"
  | "i"
  | "sh6"
  | "sh5"
  | "load"
  | "store"
  | "branch"
  | "u"
  | "jal"
  | "jalr"
  | "csr"
  | "csri"
  | "fence"
  | "none"
  | "sfence"
  | "amo"
  | "lr"
  | "fr"
  | "fr_rm"
  | "fr4"
  | "f1"
  | "f1_rm"
  | "fx"
  | "fx_rm"
  | "xf"
  | "xf_rm"
  | "fcmp"
  | "fload"
  | "fstore";

interface Op {
  name: string;
  mask: number;
  match: number;
  format: Format;
}

// Field masks.
const OPC = 0x7f;
const F3 = 0x7000;
const F7 = 0xfe000000 | 0;
const RS2 = 0x01f00000;
const RD = 0x00000f80;
const F5 = 0xf8000000 | 0; // AMO funct5

function op(name: string, mask: number, match: number, format: Format): Op {
  return { name, mask: mask >>> 0, match: match >>> 0, format };
}

const f3 = (v: number) => v << 12;
const f7 = (v: number) => v << 25;

/** The 32-bit instruction table (first match wins). */
const TABLE: readonly Op[] = [
  // RV64I
  op("lui", OPC, 0x37, "u"),
  op("auipc", OPC, 0x17, "u"),
  op("jal", OPC, 0x6f, "jal"),
  op("jalr", OPC | F3, 0x67, "jalr"),
  ...["beq", "bne", "", "", "blt", "bge", "bltu", "bgeu"].flatMap((n, i) =>
    n ? [op(n, OPC | F3, 0x63 | f3(i), "branch")] : []
  ),
  ...["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"].map((n, i) =>
    op(n, OPC | F3, 0x03 | f3(i), "load")
  ),
  ...["sb", "sh", "sw", "sd"].map((n, i) =>
    op(n, OPC | F3, 0x23 | f3(i), "store")
  ),
  op("addi", OPC | F3, 0x13, "i"),
  op("slli", OPC | F3 | 0xfc000000, 0x13 | f3(1), "sh6"),
  op("slti", OPC | F3, 0x13 | f3(2), "i"),
  op("sltiu", OPC | F3, 0x13 | f3(3), "i"),
  op("xori", OPC | F3, 0x13 | f3(4), "i"),
  op("srli", OPC | F3 | 0xfc000000, 0x13 | f3(5), "sh6"),
  op("srai", OPC | F3 | 0xfc000000, 0x13 | f3(5) | 0x40000000, "sh6"),
  op("ori", OPC | F3, 0x13 | f3(6), "i"),
  op("andi", OPC | F3, 0x13 | f3(7), "i"),
  op("addiw", OPC | F3, 0x1b, "i"),
  op("slliw", OPC | F3 | F7, 0x1b | f3(1), "sh5"),
  op("srliw", OPC | F3 | F7, 0x1b | f3(5), "sh5"),
  op("sraiw", OPC | F3 | F7, 0x1b | f3(5) | f7(0x20), "sh5"),
  ...[
    ["add", 0, 0],
    ["sub", 0, 0x20],
    ["sll", 1, 0],
    ["slt", 2, 0],
    ["sltu", 3, 0],
    ["xor", 4, 0],
    ["srl", 5, 0],
    ["sra", 5, 0x20],
    ["or", 6, 0],
    ["and", 7, 0],
    ["mul", 0, 1],
    ["mulh", 1, 1],
    ["mulhsu", 2, 1],
    ["mulhu", 3, 1],
    ["div", 4, 1],
    ["divu", 5, 1],
    ["rem", 6, 1],
    ["remu", 7, 1],
  ].map(([n, a, b]) =>
    op(
      n as string,
      OPC | F3 | F7,
      0x33 | f3(a as number) | f7(b as number),
      "r",
    )
  ),
  ...[
    ["addw", 0, 0],
    ["subw", 0, 0x20],
    ["sllw", 1, 0],
    ["srlw", 5, 0],
    ["sraw", 5, 0x20],
    ["mulw", 0, 1],
    ["divw", 4, 1],
    ["divuw", 5, 1],
    ["remw", 6, 1],
    ["remuw", 7, 1],
  ].map(([n, a, b]) =>
    op(
      n as string,
      OPC | F3 | F7,
      0x3b | f3(a as number) | f7(b as number),
      "r",
    )
  ),
  op("fence.i", OPC | F3, 0x0f | f3(1), "none"),
  op("fence", OPC | F3, 0x0f, "fence"),
  // SYSTEM
  op("ecall", -1, 0x00000073, "none"),
  op("ebreak", -1, 0x00100073, "none"),
  op("sret", -1, 0x10200073, "none"),
  op("mret", -1, 0x30200073, "none"),
  op("wfi", -1, 0x10500073, "none"),
  op("sfence.vma", F7 | RD | F3 | OPC, 0x12000073, "sfence"),
  ...["", "csrrw", "csrrs", "csrrc", "", "csrrwi", "csrrsi", "csrrci"].flatMap((
    n,
    i,
  ) => n ? [op(n, OPC | F3, 0x73 | f3(i), i < 4 ? "csr" : "csri")] : []),
  // A
  ...["w", "d"].flatMap((s, k) => [
    op(`lr.${s}`, OPC | F3 | F5 | RS2, 0x2f | f3(2 + k) | (0x02 << 27), "lr"),
    ...[
      ["sc", 0x03],
      ["amoswap", 0x01],
      ["amoadd", 0x00],
      ["amoxor", 0x04],
      ["amoand", 0x0c],
      ["amoor", 0x08],
      ["amomin", 0x10],
      ["amomax", 0x14],
      ["amominu", 0x18],
      ["amomaxu", 0x1c],
    ].map(([n, f]) =>
      op(
        `${n}.${s}`,
        OPC | F3 | F5,
        0x2f | f3(2 + k) | ((f as number) << 27),
        "amo",
      )
    ),
  ]),
  // F and D
  op("flw", OPC | F3, 0x07 | f3(2), "fload"),
  op("fld", OPC | F3, 0x07 | f3(3), "fload"),
  op("fsw", OPC | F3, 0x27 | f3(2), "fstore"),
  op("fsd", OPC | F3, 0x27 | f3(3), "fstore"),
  ...["s", "d"].flatMap((s, k) => [
    op(`fmadd.${s}`, OPC | (3 << 25), 0x43 | (k << 25), "fr4"),
    op(`fmsub.${s}`, OPC | (3 << 25), 0x47 | (k << 25), "fr4"),
    op(`fnmsub.${s}`, OPC | (3 << 25), 0x4b | (k << 25), "fr4"),
    op(`fnmadd.${s}`, OPC | (3 << 25), 0x4f | (k << 25), "fr4"),
    op(`fadd.${s}`, OPC | F7, 0x53 | f7(0x00 | k), "fr_rm"),
    op(`fsub.${s}`, OPC | F7, 0x53 | f7(0x04 | k), "fr_rm"),
    op(`fmul.${s}`, OPC | F7, 0x53 | f7(0x08 | k), "fr_rm"),
    op(`fdiv.${s}`, OPC | F7, 0x53 | f7(0x0c | k), "fr_rm"),
    op(`fsqrt.${s}`, OPC | F7 | RS2, 0x53 | f7(0x2c | k), "f1_rm"),
    op(`fsgnj.${s}`, OPC | F7 | F3, 0x53 | f7(0x10 | k), "fr"),
    op(`fsgnjn.${s}`, OPC | F7 | F3, 0x53 | f7(0x10 | k) | f3(1), "fr"),
    op(`fsgnjx.${s}`, OPC | F7 | F3, 0x53 | f7(0x10 | k) | f3(2), "fr"),
    op(`fmin.${s}`, OPC | F7 | F3, 0x53 | f7(0x14 | k), "fr"),
    op(`fmax.${s}`, OPC | F7 | F3, 0x53 | f7(0x14 | k) | f3(1), "fr"),
    op(`fle.${s}`, OPC | F7 | F3, 0x53 | f7(0x50 | k), "fcmp"),
    op(`flt.${s}`, OPC | F7 | F3, 0x53 | f7(0x50 | k) | f3(1), "fcmp"),
    op(`feq.${s}`, OPC | F7 | F3, 0x53 | f7(0x50 | k) | f3(2), "fcmp"),
    ...["w", "wu", "l", "lu"].flatMap((t, i) => [
      op(
        `fcvt.${t}.${s}`,
        OPC | F7 | RS2,
        0x53 | f7(0x60 | k) | (i << 20),
        "xf_rm",
      ),
      op(
        `fcvt.${s}.${t}`,
        OPC | F7 | RS2,
        0x53 | f7(0x68 | k) | (i << 20),
        s === "d" && i < 2 ? "fx" : "fx_rm", // exact: no rounding mode
      ),
    ]),
    op(
      `fmv.x.${s === "s" ? "w" : "d"}`,
      OPC | F7 | RS2 | F3,
      0x53 | f7(0x70 | k),
      "xf",
    ),
    op(`fclass.${s}`, OPC | F7 | RS2 | F3, 0x53 | f7(0x70 | k) | f3(1), "xf"),
    op(
      `fmv.${s === "s" ? "w" : "d"}.x`,
      OPC | F7 | RS2 | F3,
      0x53 | f7(0x78 | k),
      "fx",
    ),
  ]),
  op("fcvt.s.d", OPC | F7 | RS2, 0x53 | f7(0x20) | (1 << 20), "f1_rm"),
  op("fcvt.d.s", OPC | F7 | RS2, 0x53 | f7(0x21), "f1"), // exact
];

const RM_NAMES = ["rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"];

function hex(v: number | bigint): string {
  const n = BigInt(v);
  return n < 0n ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

function csrName(csr: number): string {
  return CSR_NAMES.get(csr) ?? hex(csr);
}

function target(pc: bigint | number | undefined, off: number): string {
  if (pc === undefined) return off >= 0 ? `.+${off}` : `.${off}`;
  return hex(BigInt.asUintN(64, BigInt(pc) + BigInt(off)));
}

/** Bits hi..lo of v. */
function bits(v: number, hi: number, lo: number): number {
  return (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
}

/** Sign-extend the low `n` bits of v. */
function sext(v: number, n: number): number {
  return (v << (32 - n)) >> (32 - n);
}

function format32(o: Op, i: number, pc: bigint | number | undefined): string {
  const rd = bits(i, 11, 7), rs1 = bits(i, 19, 15), rs2 = bits(i, 24, 20);
  const rs3 = bits(i, 31, 27), rm = bits(i, 14, 12);
  const immI = i >> 20;
  const immS = ((i >> 25) << 5) | bits(i, 11, 7);
  const x = X_NAMES, f = F_NAMES;
  const rmSuffix = rm === 7 ? "" : `, ${RM_NAMES[rm]}`;
  const n = o.name;
  switch (o.format) {
    case "r":
      return `${n} ${x[rd]}, ${x[rs1]}, ${x[rs2]}`;
    case "i":
      return `${n} ${x[rd]}, ${x[rs1]}, ${immI}`;
    case "sh6":
      return `${n} ${x[rd]}, ${x[rs1]}, ${hex(bits(i, 25, 20))}`;
    case "sh5":
      return `${n} ${x[rd]}, ${x[rs1]}, ${hex(rs2)}`;
    case "load":
      return `${n} ${x[rd]}, ${immI}(${x[rs1]})`;
    case "store":
      return `${n} ${x[rs2]}, ${immS}(${x[rs1]})`;
    case "branch": {
      const off = sext(
        (bits(i, 31, 31) << 12) | (bits(i, 7, 7) << 11) |
          (bits(i, 30, 25) << 5) | (bits(i, 11, 8) << 1),
        13,
      );
      return `${n} ${x[rs1]}, ${x[rs2]}, ${target(pc, off)}`;
    }
    case "u":
      return `${n} ${x[rd]}, ${hex(i >>> 12)}`;
    case "jal": {
      const off = sext(
        (bits(i, 31, 31) << 20) | (bits(i, 19, 12) << 12) |
          (bits(i, 20, 20) << 11) | (bits(i, 30, 21) << 1),
        21,
      );
      return `${n} ${x[rd]}, ${target(pc, off)}`;
    }
    case "jalr":
      return `${n} ${x[rd]}, ${immI}(${x[rs1]})`;
    case "csr":
      return `${n} ${x[rd]}, ${csrName(i >>> 20)}, ${x[rs1]}`;
    case "csri":
      return `${n} ${x[rd]}, ${csrName(i >>> 20)}, ${rs1}`;
    case "fence": {
      const set = (v: number) =>
        (v & 8 ? "i" : "") + (v & 4 ? "o" : "") + (v & 2 ? "r" : "") +
          (v & 1 ? "w" : "") || "0";
      const fm = bits(i, 31, 28);
      if (fm === 8 && bits(i, 27, 20) === 0x33) return "fence.tso";
      return `${n} ${set(bits(i, 27, 24))}, ${set(bits(i, 23, 20))}`;
    }
    case "none":
      return n;
    case "sfence":
      return `${n} ${x[rs1]}, ${x[rs2]}`;
    case "amo":
    case "lr": {
      const order = ["", ".rl", ".aq", ".aqrl"][bits(i, 26, 25)]!;
      return o.format === "lr"
        ? `${n}${order} ${x[rd]}, (${x[rs1]})`
        : `${n}${order} ${x[rd]}, ${x[rs2]}, (${x[rs1]})`;
    }
    case "fr":
      return `${n} ${f[rd]}, ${f[rs1]}, ${f[rs2]}`;
    case "fr_rm":
      return `${n} ${f[rd]}, ${f[rs1]}, ${f[rs2]}${rmSuffix}`;
    case "fr4":
      return `${n} ${f[rd]}, ${f[rs1]}, ${f[rs2]}, ${f[rs3]}${rmSuffix}`;
    case "f1":
      return `${n} ${f[rd]}, ${f[rs1]}`;
    case "f1_rm":
      return `${n} ${f[rd]}, ${f[rs1]}${rmSuffix}`;
    case "fx":
      return `${n} ${f[rd]}, ${x[rs1]}`;
    case "fx_rm":
      return `${n} ${f[rd]}, ${x[rs1]}${rmSuffix}`;
    case "xf":
      return `${n} ${x[rd]}, ${f[rs1]}`;
    case "xf_rm":
      return `${n} ${x[rd]}, ${f[rs1]}${rmSuffix}`;
    case "fcmp":
      return `${n} ${x[rd]}, ${f[rs1]}, ${f[rs2]}`;
    case "fload":
      return `${n} ${f[rd]}, ${immI}(${x[rs1]})`;
    case "fstore":
      return `${n} ${f[rs2]}, ${immS}(${x[rs1]})`;
  }
}

function disasm32(i: number, pc: bigint | number | undefined): string {
  const u = i >>> 0;
  for (const o of TABLE) {
    if (((u & o.mask) >>> 0) === o.match) return format32(o, i | 0, pc);
  }
  return "illegal";
}

/** Registers x8..x15 of the compressed 3-bit fields. */
function cx(v: number): string {
  return X_NAMES[8 + v]!;
}

function cf(v: number): string {
  return F_NAMES[8 + v]!;
}

function disasm16(i: number, pc: bigint | number | undefined): string {
  const q = i & 3, fn = bits(i, 15, 13);
  const rd = bits(i, 11, 7), rs2 = bits(i, 6, 2);
  const rdp = bits(i, 4, 2), rs1p = bits(i, 9, 7);
  const x = X_NAMES;
  // CI immediate: imm[5] = bit 12, imm[4:0] = bits 6:2.
  const ciImm = sext((bits(i, 12, 12) << 5) | bits(i, 6, 2), 6);
  const clW = (bits(i, 5, 5) << 6) | (bits(i, 12, 10) << 3) |
    (bits(i, 6, 6) << 2);
  const clD = (bits(i, 6, 5) << 6) | (bits(i, 12, 10) << 3);
  if (q === 0) {
    switch (fn) {
      case 0: {
        const imm = (bits(i, 10, 7) << 6) | (bits(i, 12, 11) << 4) |
          (bits(i, 5, 5) << 3) | (bits(i, 6, 6) << 2);
        return imm === 0 ? "illegal" : `c.addi4spn ${cx(rdp)}, sp, ${imm}`;
      }
      case 1:
        return `c.fld ${cf(rdp)}, ${clD}(${cx(rs1p)})`;
      case 2:
        return `c.lw ${cx(rdp)}, ${clW}(${cx(rs1p)})`;
      case 3:
        return `c.ld ${cx(rdp)}, ${clD}(${cx(rs1p)})`;
      case 5:
        return `c.fsd ${cf(rdp)}, ${clD}(${cx(rs1p)})`;
      case 6:
        return `c.sw ${cx(rdp)}, ${clW}(${cx(rs1p)})`;
      case 7:
        return `c.sd ${cx(rdp)}, ${clD}(${cx(rs1p)})`;
      default:
        return "illegal";
    }
  }
  if (q === 1) {
    switch (fn) {
      case 0:
        return rd === 0 && ciImm === 0 ? "c.nop" : `c.addi ${x[rd]}, ${ciImm}`;
      case 1:
        return rd === 0 ? "illegal" : `c.addiw ${x[rd]}, ${ciImm}`;
      case 2:
        return `c.li ${x[rd]}, ${ciImm}`;
      case 3: {
        if (rd === 2) {
          const imm = sext(
            (bits(i, 12, 12) << 9) | (bits(i, 4, 3) << 7) |
              (bits(i, 5, 5) << 6) | (bits(i, 2, 2) << 5) |
              (bits(i, 6, 6) << 4),
            10,
          );
          return imm === 0 ? "illegal" : `c.addi16sp sp, ${imm}`;
        }
        if (ciImm === 0) return "illegal";
        return `c.lui ${x[rd]}, ${hex(ciImm & 0xfffff)}`;
      }
      case 4: {
        const f2 = bits(i, 11, 10);
        const sh = (bits(i, 12, 12) << 5) | bits(i, 6, 2);
        if (f2 === 0) return `c.srli ${cx(rs1p)}, ${hex(sh)}`;
        if (f2 === 1) return `c.srai ${cx(rs1p)}, ${hex(sh)}`;
        if (f2 === 2) return `c.andi ${cx(rs1p)}, ${ciImm}`;
        const names = bits(i, 12, 12)
          ? ["c.subw", "c.addw", "", ""]
          : ["c.sub", "c.xor", "c.or", "c.and"];
        const n = names[bits(i, 6, 5)]!;
        return n ? `${n} ${cx(rs1p)}, ${cx(rdp)}` : "illegal";
      }
      case 5: {
        const off = sext(
          (bits(i, 12, 12) << 11) | (bits(i, 8, 8) << 10) |
            (bits(i, 10, 9) << 8) | (bits(i, 6, 6) << 7) |
            (bits(i, 7, 7) << 6) | (bits(i, 2, 2) << 5) |
            (bits(i, 11, 11) << 4) | (bits(i, 5, 3) << 1),
          12,
        );
        return `c.j ${target(pc, off)}`;
      }
      default: {
        const off = sext(
          (bits(i, 12, 12) << 8) | (bits(i, 6, 5) << 6) |
            (bits(i, 2, 2) << 5) | (bits(i, 11, 10) << 3) |
            (bits(i, 4, 3) << 1),
          9,
        );
        return `${fn === 6 ? "c.beqz" : "c.bnez"} ${cx(rs1p)}, ${
          target(pc, off)
        }`;
      }
    }
  }
  // quadrant 2
  switch (fn) {
    case 0:
      return `c.slli ${x[rd]}, ${hex((bits(i, 12, 12) << 5) | bits(i, 6, 2))}`;
    case 1:
      return `c.fldsp ${F_NAMES[rd]}, ${
        (bits(i, 4, 2) << 6) | (bits(i, 12, 12) << 5) | (bits(i, 6, 5) << 3)
      }(sp)`;
    case 2:
      return rd === 0
        ? "illegal"
        : `c.lwsp ${x[rd]}, ${
          (bits(i, 3, 2) << 6) | (bits(i, 12, 12) << 5) | (bits(i, 6, 4) << 2)
        }(sp)`;
    case 3:
      return rd === 0
        ? "illegal"
        : `c.ldsp ${x[rd]}, ${
          (bits(i, 4, 2) << 6) | (bits(i, 12, 12) << 5) | (bits(i, 6, 5) << 3)
        }(sp)`;
    case 4:
      if (bits(i, 12, 12) === 0) {
        if (rs2 === 0) return rd === 0 ? "illegal" : `c.jr ${x[rd]}`;
        return `c.mv ${x[rd]}, ${x[rs2]}`;
      }
      if (rs2 === 0) return rd === 0 ? "c.ebreak" : `c.jalr ${x[rd]}`;
      return `c.add ${x[rd]}, ${x[rs2]}`;
    case 5:
      return `c.fsdsp ${F_NAMES[rs2]}, ${
        (bits(i, 9, 7) << 6) | (bits(i, 12, 10) << 3)
      }(sp)`;
    case 6:
      return `c.swsp ${x[rs2]}, ${
        (bits(i, 8, 7) << 6) | (bits(i, 12, 9) << 2)
      }(sp)`;
    default:
      return `c.sdsp ${x[rs2]}, ${
        (bits(i, 9, 7) << 6) | (bits(i, 12, 10) << 3)
      }(sp)`;
  }
}

/**
 * The length in bytes of the instruction whose first 16-bit parcel is
 * `parcel`: 2 for compressed instructions, otherwise 4 (longer encodings are
 * not part of RV64GC and count as 4).
 *
 * @param parcel the low 16 bits of the instruction
 * @returns 2 or 4
 * @example
 * ```ts
 * import { instructionLength } from "./disasm.ts";
 * if (instructionLength(0x4501) !== 2) throw new Error("unreachable");
 * ```
 */
export function instructionLength(parcel: number): 2 | 4 {
  return (parcel & 3) === 3 ? 4 : 2;
}

/**
 * Disassemble one instruction.
 *
 * @param insn the instruction bits: a 32-bit word, or a 16-bit parcel for a
 * compressed instruction (only the low 16 bits are looked at when the low
 * two bits are not 11)
 * @param options the pc, to print branch targets as addresses
 * @returns the instruction in assembler syntax, or `illegal`
 * @example Disassemble a compressed and a 32-bit instruction
 * ```ts
 * import { disassemble } from "./disasm.ts";
 * if (disassemble(0x4501) !== "c.li a0, 0") throw new Error("unreachable");
 * const s = disassemble(0x00b50533);
 * if (s !== "add a0, a0, a1") throw new Error(s);
 * ```
 */
export function disassemble(
  insn: number,
  options: DisassembleOptions = {},
): string {
  if ((insn & 3) !== 3) return disasm16(insn & 0xffff, options.pc);
  return disasm32(insn | 0, options.pc);
}
