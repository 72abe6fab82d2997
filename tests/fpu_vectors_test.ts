/**
 * Differential test of the FPU against QEMU: replays every line of
 * tests/guest/fpu_vectors/expected.txt (recorded by running the
 * fpu_vectors guest under qemu-system-riscv64) through {@linkcode Fpu}.
 *
 * @module
 */

import { equal } from "node:assert/strict";
import { Fpu } from "../core/fpu.ts";

const EXPECTED = new URL(
  "./guest/fpu_vectors/expected.txt",
  import.meta.url,
);

/** Register numbers used by the guest: rs1, rs2, rs3 and rd. */
const RS1 = 10, RS2 = 11, RS3 = 12, RD = 13;
const SENTINEL = 0x5a5a5a5aa5a5a5a5n;

function opfp(funct7: number, rs2: number, funct3: number): number {
  return ((funct7 << 25) | (rs2 << 20) | (RS1 << 15) | (funct3 << 12) |
    (RD << 7) | 0x53) >>> 0;
}

function r4(opcode: number, fmt: number): number {
  return ((RS3 << 27) | (fmt << 25) | (RS2 << 20) | (RS1 << 15) |
    (RD << 7) | opcode) >>> 0;
}

/** Mnemonic -> [encoding with rm 0, destination is an x register]. */
const OPS = new Map<string, [number, boolean]>();
for (const [s, d] of [["s", 0], ["d", 1]] as const) {
  OPS.set(`fadd.${s}`, [opfp(0x00 | d, RS2, 0), false]);
  OPS.set(`fsub.${s}`, [opfp(0x04 | d, RS2, 0), false]);
  OPS.set(`fmul.${s}`, [opfp(0x08 | d, RS2, 0), false]);
  OPS.set(`fdiv.${s}`, [opfp(0x0c | d, RS2, 0), false]);
  OPS.set(`fsqrt.${s}`, [opfp(0x2c | d, 0, 0), false]);
  OPS.set(`fmadd.${s}`, [r4(0x43, d), false]);
  OPS.set(`fmsub.${s}`, [r4(0x47, d), false]);
  OPS.set(`fnmsub.${s}`, [r4(0x4b, d), false]);
  OPS.set(`fnmadd.${s}`, [r4(0x4f, d), false]);
  OPS.set(`fsgnj.${s}`, [opfp(0x10 | d, RS2, 0), false]);
  OPS.set(`fsgnjn.${s}`, [opfp(0x10 | d, RS2, 1), false]);
  OPS.set(`fsgnjx.${s}`, [opfp(0x10 | d, RS2, 2), false]);
  OPS.set(`fmin.${s}`, [opfp(0x14 | d, RS2, 0), false]);
  OPS.set(`fmax.${s}`, [opfp(0x14 | d, RS2, 1), false]);
  OPS.set(`fle.${s}`, [opfp(0x50 | d, RS2, 0), true]);
  OPS.set(`flt.${s}`, [opfp(0x50 | d, RS2, 1), true]);
  OPS.set(`feq.${s}`, [opfp(0x50 | d, RS2, 2), true]);
  OPS.set(`fclass.${s}`, [opfp(0x70 | d, 0, 1), true]);
  for (const [i, t] of ["w", "wu", "l", "lu"].entries()) {
    OPS.set(`fcvt.${t}.${s}`, [opfp(0x60 | d, i, 0), true]);
    OPS.set(`fcvt.${s}.${t}`, [opfp(0x68 | d, i, 0), false]);
  }
}
OPS.set("fcvt.s.d", [opfp(0x20, 1, 0), false]);
OPS.set("fcvt.d.s", [opfp(0x21, 0, 0), false]);
OPS.set("fmv.x.w", [opfp(0x70, 0, 0), true]);
OPS.set("fmv.x.d", [opfp(0x71, 0, 0), true]);
OPS.set("fmv.w.x", [opfp(0x78, 0, 0), false]);
OPS.set("fmv.d.x", [opfp(0x79, 0, 0), false]);

function setReg(file: Int32Array, r: number, v: bigint): void {
  file[2 * r] = Number(BigInt.asIntN(32, v));
  file[2 * r + 1] = Number(BigInt.asIntN(32, v >> 32n));
}

function getReg(file: Int32Array, r: number): bigint {
  return (BigInt(file[2 * r + 1]! >>> 0) << 32n) |
    BigInt(file[2 * r]! >>> 0);
}

function hex64(v: bigint): string {
  return v.toString(16).padStart(16, "0");
}

/** Runs one vector line; returns a description of a mismatch, or null. */
function check(fpu: Fpu, f: Int32Array, x: Int32Array, line: string) {
  const m = line.match(
    /^(\S+) (\S+) (\S+) (\S+) (\S+) -> (illegal|([0-9a-f]{16}) ([0-9a-f]{2}))$/,
  );
  if (m === null) return `unparsable line`;
  const [, name, rmTok, ...rest] = m;
  let enc: number;
  let xDest = false;
  if (name!.startsWith("raw.")) {
    enc = parseInt(name!.slice(4), 16);
  } else {
    const op = OPS.get(name!);
    if (op === undefined) return `unknown mnemonic`;
    [enc, xDest] = op;
  }
  let frm = 0;
  if (rmTok !== "-") {
    const [rm, fr] = rmTok!.split(":").map(Number);
    enc = (enc | (rm! << 12)) >>> 0;
    frm = fr!;
  }
  f.fill(0);
  x.fill(0);
  for (const [i, r] of [RS1, RS2, RS3].entries()) {
    const tok = rest[i]!;
    const v = tok === "-" ? 0n : BigInt("0x" + tok);
    setReg(f, r, v);
    setReg(x, r, v);
  }
  setReg(f, RD, SENTINEL);
  setReg(x, RD, SENTINEL);
  fpu.fflags = 0;
  fpu.frm = frm;
  const ok = fpu.exec(enc);
  if (rest[3] === "illegal") {
    if (ok) return `expected illegal`;
    if (getReg(f, RD) !== SENTINEL || getReg(x, RD) !== SENTINEL) {
      return `illegal instruction wrote rd`;
    }
    if (fpu.fflags !== 0) return `illegal instruction set fflags`;
    return null;
  }
  if (!ok) return `unexpectedly illegal`;
  const got = hex64(getReg(xDest ? x : f, RD));
  const gotFlags = fpu.fflags.toString(16).padStart(2, "0");
  if (got !== rest[4] || gotFlags !== rest[5]) {
    return `got ${got} ${gotFlags}`;
  }
  if (xDest && getReg(f, RD) !== SENTINEL) return `wrote f${RD}`;
  if (!xDest && getReg(x, RD) !== SENTINEL) return `wrote x${RD}`;
  return null;
}

Deno.test("Fpu matches QEMU on every recorded vector", () => {
  const lines = Deno.readTextFileSync(EXPECTED).split("\n");
  const f = new Int32Array(64), x = new Int32Array(64);
  const fpu = new Fpu(f, x);
  let checked = 0;
  const failures: string[] = [];
  let ended = false;
  for (const line of lines) {
    if (line === "") continue;
    if (line === "end") {
      ended = true;
      continue;
    }
    checked++;
    const bad = check(fpu, f, x, line);
    if (bad !== null) failures.push(`${line}\n    ${bad}`);
  }
  equal(ended, true, "expected.txt is truncated");
  equal(
    failures.length,
    0,
    `${failures.length}/${checked} mismatches:\n${
      failures.slice(0, 40).join("\n")
    }`,
  );
  equal(checked > 5000, true, `only ${checked} vectors`);
});
