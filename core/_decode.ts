// Internal: decode RV64GC instruction bits into the packed form that the CPU
// loop executes (see _ops.ts for the layout). Compressed instructions expand
// to the same ops as their 32-bit equivalents.
//
// Reference: RISC-V Unprivileged ISA 20191213, chapters 2 (RV32I), 5 (RV64I),
// 7 (M), 8 (A), 11-12 (F, D), 16 (C, tables 16.5-16.7), 9 (Zicsr), 3
// (Zifencei); Privileged ISA 1.12 for mret/sret/wfi/sfence.vma.

import { OP } from "./_ops.ts";

const X0_DEST = 64; // rd*2 for writes to x0: a scratch slot

function pack(op: number, rd: number, rs1: number, rs2: number, is32: number) {
  return op | ((rd === 0 ? X0_DEST : rd * 2) << 8) | (rs1 * 2 << 15) |
    (rs2 * 2 << 21) | (is32 << 27);
}

// For ops whose rd is an FP register (or no register), x0 is a real index.
function packF(op: number, rd: number, rs1: number, rs2: number, is32: number) {
  return op | (rd * 2 << 8) | (rs1 * 2 << 15) | (rs2 * 2 << 21) | (is32 << 27);
}

/**
 * Decode a 32-bit instruction.
 *
 * @param i the instruction bits
 * @param out out[0] = packed word, out[1] = immediate
 */
export function decode32(i: number, out: Int32Array): void {
  const opcode = i & 0x7f;
  const rd = (i >>> 7) & 31;
  const f3 = (i >>> 12) & 7;
  const rs1 = (i >>> 15) & 31;
  const rs2 = (i >>> 20) & 31;
  const f7 = i >>> 25;
  const immI = i >> 20;
  let op = OP.ILLEGAL;
  let imm = 0;
  let w = -1;
  switch (opcode) {
    case 0x37: // LUI
      op = OP.LUI;
      imm = i & 0xfffff000;
      break;
    case 0x17: // AUIPC
      op = OP.AUIPC;
      imm = i & 0xfffff000;
      break;
    case 0x6f: // JAL
      op = OP.JAL;
      imm = ((i >> 31) << 20) | (((i >>> 12) & 0xff) << 12) |
        (((i >>> 20) & 1) << 11) | (((i >>> 21) & 0x3ff) << 1);
      break;
    case 0x67: // JALR
      if (f3 === 0) {
        op = OP.JALR;
        imm = immI;
      }
      break;
    case 0x63: { // branches
      const b = [OP.BEQ, OP.BNE, -1, -1, OP.BLT, OP.BGE, OP.BLTU, OP.BGEU][f3]!;
      if (b >= 0) {
        op = b;
        imm = ((i >> 31) << 12) | (((i >>> 7) & 1) << 11) |
          (((i >>> 25) & 0x3f) << 5) | (((i >>> 8) & 0xf) << 1);
        w = packF(op, 0, rs1, rs2, 1);
      }
      break;
    }
    case 0x03: { // loads
      const l = [OP.LB, OP.LH, OP.LW, OP.LD, OP.LBU, OP.LHU, OP.LWU, -1][f3]!;
      if (l >= 0) {
        op = l;
        imm = immI;
      }
      break;
    }
    case 0x23: { // stores
      const s = [OP.SB, OP.SH, OP.SW, OP.SD, -1, -1, -1, -1][f3]!;
      if (s >= 0) {
        op = s;
        imm = ((i >> 25) << 5) | ((i >>> 7) & 31);
        w = packF(op, 0, rs1, rs2, 1);
      }
      break;
    }
    case 0x13: { // OP-IMM
      imm = immI;
      const sh = (i >>> 20) & 63;
      const hi6 = i >>> 26;
      switch (f3) {
        case 0:
          op = OP.ADDI;
          if (rd !== 0 && rs1 === 0) op = OP.LI;
          else if (rd !== 0 && imm === 0) op = OP.MV;
          break;
        case 2:
          op = OP.SLTI;
          break;
        case 3:
          op = OP.SLTIU;
          break;
        case 4:
          op = OP.XORI;
          break;
        case 6:
          op = OP.ORI;
          break;
        case 7:
          op = OP.ANDI;
          break;
        case 1:
          if (hi6 === 0) {
            op = OP.SLLI;
            imm = sh;
          }
          break;
        case 5:
          if (hi6 === 0) {
            op = OP.SRLI;
            imm = sh;
          } else if (hi6 === 0x10) {
            op = OP.SRAI;
            imm = sh;
          }
          break;
      }
      if (op !== OP.ILLEGAL && rd === 0) op = OP.NOP;
      break;
    }
    case 0x1b: { // OP-IMM-32
      imm = immI;
      const sh = (i >>> 20) & 31;
      if (f3 === 0) op = OP.ADDIW;
      else if (f3 === 1 && f7 === 0) {
        op = OP.SLLIW;
        imm = sh;
      } else if (f3 === 5 && f7 === 0) {
        op = OP.SRLIW;
        imm = sh;
      } else if (f3 === 5 && f7 === 0x20) {
        op = OP.SRAIW;
        imm = sh;
      }
      if (op !== OP.ILLEGAL && rd === 0) op = OP.NOP;
      break;
    }
    case 0x33: { // OP
      if (f7 === 0) {
        op = [OP.ADD, OP.SLL, OP.SLT, OP.SLTU, OP.XOR, OP.SRL, OP.OR, OP.AND][
          f3
        ]!;
      } else if (f7 === 0x20) {
        if (f3 === 0) op = OP.SUB;
        else if (f3 === 5) op = OP.SRA;
      } else if (f7 === 1) {
        op = [
          OP.MUL,
          OP.MULH,
          OP.MULHSU,
          OP.MULHU,
          OP.DIV,
          OP.DIVU,
          OP.REM,
          OP.REMU,
        ][f3]!;
      }
      if (op !== OP.ILLEGAL && rd === 0) op = OP.NOP;
      break;
    }
    case 0x3b: { // OP-32
      if (f7 === 0) {
        if (f3 === 0) op = OP.ADDW;
        else if (f3 === 1) op = OP.SLLW;
        else if (f3 === 5) op = OP.SRLW;
      } else if (f7 === 0x20) {
        if (f3 === 0) op = OP.SUBW;
        else if (f3 === 5) op = OP.SRAW;
      } else if (f7 === 1) {
        if (f3 === 0) op = OP.MULW;
        else if (f3 === 4) op = OP.DIVW;
        else if (f3 === 5) op = OP.DIVUW;
        else if (f3 === 6) op = OP.REMW;
        else if (f3 === 7) op = OP.REMUW;
      }
      if (op !== OP.ILLEGAL && rd === 0) op = OP.NOP;
      break;
    }
    case 0x2f: { // AMO
      const f5 = i >>> 27;
      if (f3 === 2 || f3 === 3) {
        const d = f3 === 3;
        if (f5 === 2) {
          if (rs2 === 0) op = d ? OP.LR_D : OP.LR_W;
        } else if (f5 === 3) op = d ? OP.SC_D : OP.SC_W;
        else if (
          f5 === 0 || f5 === 1 || f5 === 4 || f5 === 8 || f5 === 12 ||
          f5 === 16 || f5 === 20 || f5 === 24 || f5 === 28
        ) op = d ? OP.AMO_D : OP.AMO_W;
        imm = f5;
      }
      break;
    }
    case 0x07: // LOAD-FP
      if (f3 === 2 || f3 === 3) {
        op = f3 === 2 ? OP.FLW : OP.FLD;
        imm = immI;
        w = packF(op, rd, rs1, 0, 1);
      }
      break;
    case 0x27: // STORE-FP
      if (f3 === 2 || f3 === 3) {
        op = f3 === 2 ? OP.FSW : OP.FSD;
        imm = ((i >> 25) << 5) | ((i >>> 7) & 31);
        w = packF(op, 0, rs1, rs2, 1);
      }
      break;
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
    case 0x53:
      op = OP.FP;
      imm = i;
      w = packF(op, 0, 0, 0, 1);
      break;
    case 0x0f: // MISC-MEM
      if (f3 === 0) op = OP.FENCE;
      else if (f3 === 1) op = OP.FENCE_I;
      w = packF(op, 0, 0, 0, 1);
      break;
    case 0x73: { // SYSTEM
      if (f3 === 0) {
        if (i === 0x00000073) op = OP.ECALL;
        else if (i === 0x00100073) op = OP.EBREAK;
        else if (i === 0x30200073) op = OP.MRET;
        else if (i === 0x10200073) op = OP.SRET;
        else if (i === 0x10500073) op = OP.WFI;
        else if (f7 === 0x09 && rd === 0) op = OP.SFENCE_VMA;
        if (op !== OP.SFENCE_VMA) w = packF(op, 0, 0, 0, 1);
      } else if (f3 !== 4) {
        op = [
          -1,
          OP.CSRRW,
          OP.CSRRS,
          OP.CSRRC,
          -1,
          OP.CSRRWI,
          OP.CSRRSI,
          OP.CSRRCI,
        ][f3]!;
        imm = (i >>> 20) & 0xfff;
        // rd === 0 keeps the real index 0 for CSR ops: the CPU needs to know
        // whether rd is x0 only for CSRRW (read side effects), so pack with
        // the scratch slot like any other integer write.
      }
      break;
    }
  }
  if (op === OP.ILLEGAL) {
    out[0] = packF(OP.ILLEGAL, 0, 0, 0, 1);
    out[1] = i;
    return;
  }
  out[0] = w >= 0 ? w : pack(op, rd, rs1, rs2, 1);
  out[1] = imm;
}

const C_RD3 = (i: number) => 8 + ((i >>> 2) & 7);
const C_RS1_3 = (i: number) => 8 + ((i >>> 7) & 7);

/**
 * Decode a 16-bit (compressed) instruction.
 *
 * @param i the instruction bits (low 16 bits used)
 * @param out out[0] = packed word, out[1] = immediate
 */
export function decode16(i: number, out: Int32Array): void {
  i &= 0xffff;
  const quadrant = i & 3;
  const f3 = i >>> 13;
  const rd = (i >>> 7) & 31;
  const rs2 = (i >>> 2) & 31;
  let w = -1;
  let imm = 0;
  switch (quadrant) {
    case 0:
      switch (f3) {
        case 0: { // c.addi4spn
          imm = (((i >>> 7) & 0xf) << 6) | (((i >>> 11) & 3) << 4) |
            (((i >>> 5) & 1) << 3) | (((i >>> 6) & 1) << 2);
          if (imm !== 0) w = pack(OP.ADDI, C_RD3(i), 2, 0, 0);
          break;
        }
        case 1: // c.fld
          imm = (((i >>> 10) & 7) << 3) | (((i >>> 5) & 3) << 6);
          w = packF(OP.FLD, C_RD3(i), C_RS1_3(i), 0, 0);
          break;
        case 2: // c.lw
          imm = (((i >>> 10) & 7) << 3) | (((i >>> 6) & 1) << 2) |
            (((i >>> 5) & 1) << 6);
          w = pack(OP.LW, C_RD3(i), C_RS1_3(i), 0, 0);
          break;
        case 3: // c.ld
          imm = (((i >>> 10) & 7) << 3) | (((i >>> 5) & 3) << 6);
          w = pack(OP.LD, C_RD3(i), C_RS1_3(i), 0, 0);
          break;
        case 5: // c.fsd
          imm = (((i >>> 10) & 7) << 3) | (((i >>> 5) & 3) << 6);
          w = packF(OP.FSD, 0, C_RS1_3(i), C_RD3(i), 0);
          break;
        case 6: // c.sw
          imm = (((i >>> 10) & 7) << 3) | (((i >>> 6) & 1) << 2) |
            (((i >>> 5) & 1) << 6);
          w = packF(OP.SW, 0, C_RS1_3(i), C_RD3(i), 0);
          break;
        case 7: // c.sd
          imm = (((i >>> 10) & 7) << 3) | (((i >>> 5) & 3) << 6);
          w = packF(OP.SD, 0, C_RS1_3(i), C_RD3(i), 0);
          break;
      }
      break;
    case 1: {
      const imm6 = ((((i >>> 12) & 1) << 31) >> 26) | ((i >>> 2) & 31);
      switch (f3) {
        case 0: // c.addi / c.nop
          imm = imm6;
          w = rd === 0
            ? packF(OP.NOP, 0, 0, 0, 0)
            : pack(imm === 0 ? OP.MV : OP.ADDI, rd, rd, 0, 0);
          break;
        case 1: // c.addiw
          if (rd !== 0) {
            imm = imm6;
            w = pack(OP.ADDIW, rd, rd, 0, 0);
          }
          break;
        case 2: // c.li
          imm = imm6;
          w = rd === 0 ? packF(OP.NOP, 0, 0, 0, 0) : pack(OP.LI, rd, 0, 0, 0);
          break;
        case 3:
          if (rd === 2) { // c.addi16sp
            imm = ((((i >>> 12) & 1) << 31) >> 22) | (((i >>> 6) & 1) << 4) |
              (((i >>> 5) & 1) << 6) | (((i >>> 3) & 3) << 7) |
              (((i >>> 2) & 1) << 5);
            if (imm !== 0) w = pack(OP.ADDI, 2, 2, 0, 0);
          } else { // c.lui
            imm = imm6 << 12;
            if (imm !== 0) {
              w = rd === 0
                ? packF(OP.NOP, 0, 0, 0, 0)
                : pack(OP.LUI, rd, 0, 0, 0);
            }
          }
          break;
        case 4: {
          const r = C_RS1_3(i);
          const f2 = (i >>> 10) & 3;
          if (f2 === 0 || f2 === 1) { // c.srli / c.srai
            imm = (((i >>> 12) & 1) << 5) | ((i >>> 2) & 31);
            w = pack(f2 === 0 ? OP.SRLI : OP.SRAI, r, r, 0, 0);
          } else if (f2 === 2) { // c.andi
            imm = imm6;
            w = pack(OP.ANDI, r, r, 0, 0);
          } else {
            const r2 = C_RD3(i);
            const sub = ((i >>> 12) & 1) * 4 + ((i >>> 5) & 3);
            const ops = [
              OP.SUB,
              OP.XOR,
              OP.OR,
              OP.AND,
              OP.SUBW,
              OP.ADDW,
              -1,
              -1,
            ];
            const o = ops[sub]!;
            if (o >= 0) w = pack(o, r, r, r2, 0);
          }
          break;
        }
        case 5: // c.j
          imm = ((((i >>> 12) & 1) << 31) >> 20) | (((i >>> 8) & 1) << 10) |
            (((i >>> 9) & 3) << 8) | (((i >>> 6) & 1) << 7) |
            (((i >>> 7) & 1) << 6) | (((i >>> 2) & 1) << 5) |
            (((i >>> 11) & 1) << 4) | (((i >>> 3) & 7) << 1);
          w = pack(OP.JAL, 0, 0, 0, 0);
          break;
        case 6:
        case 7: // c.beqz / c.bnez
          imm = ((((i >>> 12) & 1) << 31) >> 23) | (((i >>> 5) & 3) << 6) |
            (((i >>> 2) & 1) << 5) | (((i >>> 10) & 3) << 3) |
            (((i >>> 3) & 3) << 1);
          w = packF(f3 === 6 ? OP.BEQ : OP.BNE, 0, C_RS1_3(i), 0, 0);
          break;
      }
      break;
    }
    case 2:
      switch (f3) {
        case 0: // c.slli
          imm = (((i >>> 12) & 1) << 5) | ((i >>> 2) & 31);
          w = rd === 0
            ? packF(OP.NOP, 0, 0, 0, 0)
            : pack(OP.SLLI, rd, rd, 0, 0);
          break;
        case 1: // c.fldsp
          imm = (((i >>> 12) & 1) << 5) | (((i >>> 5) & 3) << 3) |
            (((i >>> 2) & 7) << 6);
          w = packF(OP.FLD, rd, 2, 0, 0);
          break;
        case 2: // c.lwsp
          if (rd !== 0) {
            imm = (((i >>> 12) & 1) << 5) | (((i >>> 4) & 7) << 2) |
              (((i >>> 2) & 3) << 6);
            w = pack(OP.LW, rd, 2, 0, 0);
          }
          break;
        case 3: // c.ldsp
          if (rd !== 0) {
            imm = (((i >>> 12) & 1) << 5) | (((i >>> 5) & 3) << 3) |
              (((i >>> 2) & 7) << 6);
            w = pack(OP.LD, rd, 2, 0, 0);
          }
          break;
        case 4:
          if (((i >>> 12) & 1) === 0) {
            if (rs2 === 0) { // c.jr
              if (rd !== 0) w = pack(OP.JALR, 0, rd, 0, 0);
            } else { // c.mv
              w = rd === 0
                ? packF(OP.NOP, 0, 0, 0, 0)
                : pack(OP.MV, rd, rs2, 0, 0);
            }
          } else {
            if (rs2 === 0) {
              if (rd === 0) w = packF(OP.EBREAK, 0, 0, 0, 0); // c.ebreak
              else w = pack(OP.JALR, 1, rd, 0, 0); // c.jalr
            } else { // c.add
              w = rd === 0
                ? packF(OP.NOP, 0, 0, 0, 0)
                : pack(OP.ADD, rd, rd, rs2, 0);
            }
          }
          break;
        case 5: // c.fsdsp
          imm = (((i >>> 10) & 7) << 3) | (((i >>> 7) & 7) << 6);
          w = packF(OP.FSD, 0, 2, rs2, 0);
          break;
        case 6: // c.swsp
          imm = (((i >>> 9) & 0xf) << 2) | (((i >>> 7) & 3) << 6);
          w = packF(OP.SW, 0, 2, rs2, 0);
          break;
        case 7: // c.sdsp
          imm = (((i >>> 10) & 7) << 3) | (((i >>> 7) & 7) << 6);
          w = packF(OP.SD, 0, 2, rs2, 0);
          break;
      }
      break;
  }
  if (w < 0) {
    out[0] = packF(OP.ILLEGAL, 0, 0, 0, 0);
    out[1] = i;
    return;
  }
  out[0] = w;
  out[1] = imm;
}
