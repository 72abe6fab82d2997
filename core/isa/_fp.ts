// Internal to core/isa: the OP-FP and fused multiply-add instructions that
// F and D share, for one format (`s` or `d`). Their semantics are the FP
// unit's (core/fpu.ts, `Fpu.exec`), which decodes the raw bits itself; the
// table only names and recognises the encodings.

import {
  F1_RM,
  F3,
  f3,
  F7,
  f7,
  FCMP,
  FR,
  FR4,
  FR_RM,
  FX,
  FX_RM,
  type InsnDef,
  OPC,
  RS2,
  XF,
  XF_RM,
} from "./_format.ts";

/** The arithmetic instructions of format `s` (k = 0) or `d` (k = 1). */
export function fpArith(s: "s" | "d"): InsnDef[] {
  const k = s === "s" ? 0 : 1;
  const def = (
    name: string,
    mask: number,
    match: number,
    format: InsnDef["format"],
  ): InsnDef => ({ name, mask: mask | 0, match: match | 0, format, op: "FP" });
  const w = s === "s" ? "w" : "d";
  return [
    def(`fmadd.${s}`, OPC | (3 << 25), 0x43 | (k << 25), FR4),
    def(`fmsub.${s}`, OPC | (3 << 25), 0x47 | (k << 25), FR4),
    def(`fnmsub.${s}`, OPC | (3 << 25), 0x4b | (k << 25), FR4),
    def(`fnmadd.${s}`, OPC | (3 << 25), 0x4f | (k << 25), FR4),
    def(`fadd.${s}`, OPC | F7, 0x53 | f7(0x00 | k), FR_RM),
    def(`fsub.${s}`, OPC | F7, 0x53 | f7(0x04 | k), FR_RM),
    def(`fmul.${s}`, OPC | F7, 0x53 | f7(0x08 | k), FR_RM),
    def(`fdiv.${s}`, OPC | F7, 0x53 | f7(0x0c | k), FR_RM),
    def(`fsqrt.${s}`, OPC | F7 | RS2, 0x53 | f7(0x2c | k), F1_RM),
    def(`fsgnj.${s}`, OPC | F7 | F3, 0x53 | f7(0x10 | k), FR),
    def(`fsgnjn.${s}`, OPC | F7 | F3, 0x53 | f7(0x10 | k) | f3(1), FR),
    def(`fsgnjx.${s}`, OPC | F7 | F3, 0x53 | f7(0x10 | k) | f3(2), FR),
    def(`fmin.${s}`, OPC | F7 | F3, 0x53 | f7(0x14 | k), FR),
    def(`fmax.${s}`, OPC | F7 | F3, 0x53 | f7(0x14 | k) | f3(1), FR),
    def(`fle.${s}`, OPC | F7 | F3, 0x53 | f7(0x50 | k), FCMP),
    def(`flt.${s}`, OPC | F7 | F3, 0x53 | f7(0x50 | k) | f3(1), FCMP),
    def(`feq.${s}`, OPC | F7 | F3, 0x53 | f7(0x50 | k) | f3(2), FCMP),
    ...["w", "wu", "l", "lu"].flatMap((t, i) => [
      def(
        `fcvt.${t}.${s}`,
        OPC | F7 | RS2,
        0x53 | f7(0x60 | k) | (i << 20),
        XF_RM,
      ),
      def(
        `fcvt.${s}.${t}`,
        OPC | F7 | RS2,
        0x53 | f7(0x68 | k) | (i << 20),
        s === "d" && i < 2 ? FX : FX_RM, // exact: no rounding mode
      ),
    ]),
    def(`fmv.x.${w}`, OPC | F7 | RS2 | F3, 0x53 | f7(0x70 | k), XF),
    def(`fclass.${s}`, OPC | F7 | RS2 | F3, 0x53 | f7(0x70 | k) | f3(1), XF),
    def(`fmv.${w}.x`, OPC | F7 | RS2 | F3, 0x53 | f7(0x78 | k), FX),
  ];
}
