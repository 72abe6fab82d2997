/**
 * The interpreter loop of `Cpu`, generated from the instruction table at
 * module load (`new Function`), so that each op's semantics are written
 * once, in core/isa/, and both this loop and the block compiler use them.
 *
 * The generated loop is what `Cpu.run` was by hand: one flat `for` with a
 * `switch` on literal op numbers (so V8 builds a jump table) and no nested
 * loops (so on-stack replacement never has to leave an inner loop).
 * Anything that changes the pc non-locally, the privilege, or what may
 * interrupt parks the budget in `held` and zeroes it, so that the one budget
 * check per instruction also catches re-entry.
 *
 * Each op's case comes from its definition:
 * - `exec` semantics (ALU ops): run with `d`, `a`, `b`, `i` bound;
 * - `cond` (conditional branches): the shared taken-branch path;
 * - `mem` (loads, stores, atomics, FP loads and stores): the shared TLB fast
 *   path with the slow path behind it;
 * - `kind`, for the rest: jumps, traps, system and CSR instructions, the FP
 *   unit, and the loop's own ops (page ends, blocks).
 * The hart's private machinery is reached through closures that `Cpu`
 * makes inside its class body (`P_enter`, `P_load`, ...).
 *
 * Used by `Cpu` (core/cpu.ts); exported for tests and readers of the
 * generated code ({@linkcode RUN_SOURCE}).
 *
 * @module
 */

import { JUMPED_OFF, WASM_CAP } from "./_wasm.ts";
import {
  div32,
  div64,
  divu32,
  divu64,
  mul64,
  mulh64,
  mulhsu64,
  mulhu64,
  R,
} from "./_alu64.ts";
import { type OpDef, OPS } from "./isa/mod.ts";

/** The generated loop: returns why it stopped. */
export type RunFn = (self: unknown, maxInsns: number) => number;

// Leave the loop for `#enter` at the top: the budget is parked.
const PARK = "held=budget;budget=0;continue;";
// A fault recorded by a slow path: back to the instruction, take the trap.
const FAULT =
  `budget++;setPcOff(self,vbLo,vbHi,pcOff);P_takeException(self);${PARK}`;
// A device access that must end the slice right after this instruction.
const END_AFTER =
  `if(P_endAfter(self)){setPcOff(self,vbLo,vbHi,pcOff+2+((w>>>26)&2));${PARK}}`;
// Taken control transfer to page offset `t` (a local).
const GOTO = "if((t>>>0)<4096){pcOff=t;const h=heat[t>>1]+1;heat[t>>1]=h;" +
  "if(h===32&&useBlocks)P_compile(self,page,t);continue;}" +
  `setPcOff(self,vbLo,vbHi,t);${PARK}`;
// The icount at this instruction, for slow paths that read the counters.
const SYNC = "self.icount=base+(maxInsns-budget)-1;";
// The effective address rs1 + imm as (aLo, aHi), with the TLB key.
const ADDR = "const rs1=(w>>>15)&63;const s=(x[rs1]>>>0)+(imm>>>0);" +
  "const aLo=s|0;const aHi=(x[rs1+1]+(imm>>31)+(s>4294967295?1:0))|0;" +
  "const key=(aHi<<20)|(aLo>>>12);const e=key&255;";

const LOAD_BODY: Record<string, string> = {
  "1s": "const v=(ram8[off]<<24)>>24;x[rd]=v;x[rd+1]=v>>31;",
  "2s": "const v=(ram16[off>>1]<<16)>>16;x[rd]=v;x[rd+1]=v>>31;",
  "4s": "const v=ram32[off>>2];x[rd]=v;x[rd+1]=v>>31;",
  "8s": "x[rd]=ram32[off>>2];x[rd+1]=ram32[(off>>2)+1];",
  "1u": "x[rd]=ram8[off];x[rd+1]=0;",
  "2u": "x[rd]=ram16[off>>1];x[rd+1]=0;",
  "4u": "x[rd]=ram32[off>>2];x[rd+1]=0;",
};
const STORE_BODY: Record<number, string> = {
  1: "ram8[off]=x[rs2];",
  2: "ram16[off>>1]=x[rs2];",
  4: "ram32[off>>2]=x[rs2];",
  8: "ram32[off>>2]=x[rs2];ram32[(off>>2)+1]=x[rs2+1];",
};

/** The interpreter's code for an op without `exec`, `cond` or plain `mem`. */
const KINDS: Record<string, string> = {
  undecoded: "budget++;P_decodeInto(self,page,pcOff);" +
    `if(ops[slot]===0){${PARK}}continue;`,
  pageEnd: `budget++;setPcOff(self,vbLo,vbHi,pcOff);${PARK}`,
  cross: "budget++;setPcOff(self,vbLo,vbHi,pcOff);" +
    `if(!P_fetchCross(self,vbLo,vbHi,pcOff)){P_takeException(self);${PARK}}` +
    "{const sc=P_scratch(self);ops=sc.ops;imms=sc.imm;}continue;",
  illegal:
    `budget++;setPcOff(self,vbLo,vbHi,pcOff);P_raise(self,2,imm,0);${PARK}`,
  nop: "break;",
  jal: "{const rd=(w>>>8)&127;const s=(vbLo>>>0)+pcOff+2+((w>>>26)&2);" +
    "x[rd]=s|0;x[rd+1]=(vbHi+Math.floor(s/4294967296))|0;" +
    `const t=pcOff+imm;${GOTO}}`,
  jalr: "{const rd=(w>>>8)&127;const rs1=(w>>>15)&63;" +
    "const s=(x[rs1]>>>0)+(imm>>>0);const tLo=(s|0)&~1;" +
    "const tHi=(x[rs1+1]+(imm>>31)+(s>4294967295?1:0))|0;" +
    "const l=(vbLo>>>0)+pcOff+2+((w>>>26)&2);" +
    "x[rd]=l|0;x[rd+1]=(vbHi+Math.floor(l/4294967296))|0;" +
    "if(tHi===vbHi&&(tLo&~4095)===vbLo){const t=tLo&4095;" +
    "pcOff=t;const h=heat[t>>1]+1;heat[t>>1]=h;" +
    "if(h===32&&useBlocks)P_compile(self,page,t);continue;}" +
    `self.pcLo=tLo;self.pcHi=tHi;${PARK}}`,
  amo: `${SYNC}if(!P_atomic(self,w,imm)){${FAULT}}${END_AFTER}break;`,
  fpMem: SYNC +
    "if((self.mstatus&24576)===0){budget++;setPcOff(self,vbLo,vbHi,pcOff);" +
    `P_raise(self,2,P_insnBits(self,w,imm),0);${PARK}}` +
    `if(!P_fpMem(self,w,imm)){${FAULT}}${END_AFTER}break;`,
  fp: "if((self.mstatus&24576)===0||!P_fpExec(self,imm)){budget++;" +
    `setPcOff(self,vbLo,vbHi,pcOff);P_raise(self,2,imm,0);${PARK}}` +
    "self.mstatus=self.mstatus|24576;x[64]=x[65]=0;break;",
  ecall: "budget++;setPcOff(self,vbLo,vbHi,pcOff);" +
    `P_raise(self,self.priv===3?11:8+self.priv,0,0);${PARK}`,
  ebreak: `budget++;setPcOff(self,vbLo,vbHi,pcOff);P_raise(self,3,0,0);${PARK}`,
  system: `${SYNC}setPcOff(self,vbLo,vbHi,pcOff);` +
    `if(!P_system(self,w,imm)){budget++;P_takeException(self);}${PARK}`,
  csr: `${SYNC}setPcOff(self,vbLo,vbHi,pcOff);` +
    `if(!P_csrInsn(self,w,imm)){budget++;P_takeException(self);${PARK}}` +
    // A CSR write can change translation or unmask an interrupt.
    `if(P_endAfter(self)){${PARK}}break;`,
  block: "{const bk=blocks[imm];if(budget>=bk.n-1){" +
    "const r=bk.wasm?bk.run(vbLo,vbHi,pcOff,budget+1,CAP):" +
    "bk.fn(x,vbLo,vbHi,ram8,ram16,ram32,tlbRTag,tlbROff,tlbWTag,tlbWOff);" +
    "const done=r>>>13;if(done>0){pcOff=r&8191;budget-=done-1;" +
    // A jump out of the page: the block has set the pc itself.
    `if(pcOff===${JUMPED_OFF}){${PARK}}` +
    "if(pcOff<4096){const h=heat[pcOff>>1]+1;heat[pcOff>>1]=h;" +
    "if(h===32&&useBlocks)P_compile(self,page,pcOff);}continue;}}" +
    // Not enough budget for the whole block, or its first instruction
    // missed the TLB: interpret that instruction alone, from the scratch
    // page.
    "budget++;const sc=P_scratch(self);sc.ops.fill(1);sc.ops[slot]=bk.w0;" +
    "sc.imm[slot]=bk.imm0;ops=sc.ops;imms=sc.imm;continue;}",
};

// Byte accesses are always aligned: no alignment test for them.
const aligned = (size: number) => size === 1 ? "" : `&&(aLo&${size - 1})===0`;

function loadCase(size: number, signed: boolean): string {
  return `{${ADDR}const rd=(w>>>8)&127;` +
    `if(tlbRTag[e]===key${aligned(size)}&&aHi===((aHi<<20)>>20)){` +
    `const off=tlbROff[e]+(aLo&4095);${
      LOAD_BODY[`${size}${signed ? "s" : "u"}`]
    }break;}` +
    `${SYNC}if(!P_load(self,w,aLo,aHi,${size})){${FAULT}}${END_AFTER}break;}`;
}

function storeCase(size: number): string {
  return `{${ADDR}const rs2=(w>>>21)&63;` +
    `if(tlbWTag[e]===key${aligned(size)}&&aHi===((aHi<<20)>>20)){` +
    // Bit 0 of the offset marks a page that holds decoded code.
    `const o=tlbWOff[e];const off=(o&~1)+(aLo&4095);${STORE_BODY[size]}` +
    `if((o&1)!==0)P_invalidate(self,o,aLo&4095,${size});break;}` +
    `${SYNC}if(!P_storeSlow(self,aLo,aHi,${size},x[rs2],x[rs2+1])){${FAULT}}` +
    `${END_AFTER}break;}`;
}

// The counting loop counts a block start where the block begins: at the
// target of an in-page jump or taken branch, at the instruction after a
// branch not taken or a CSR instruction, after a compiled block that ends
// with a branch, and where the loop enters a page. (Index 2048, one past the
// page, absorbs a count for the next page, which its entry counts anyway.)
const NEXT = "cnt[(pcOff+2+((w>>>26)&2))>>1]++;";

/** Replace the last `find` in `s` (which must hold one). */
function replaceLast(s: string, find: string, by: string): string {
  const k = s.lastIndexOf(find);
  if (k < 0) throw new Error(`interp: no ${find} to count at`);
  return s.slice(0, k) + by + s.slice(k + find.length);
}

/** The body of op `o`'s case. */
function caseBody(o: OpDef, counted: boolean): string {
  const body = caseCode(o);
  if (!counted) return body;
  // Jumps within the page (jal, jalr, taken branches).
  const jumped = body.replaceAll(
    "pcOff=t;const h=heat[t>>1]+1;",
    "pcOff=t;cnt[t>>1]++;const h=heat[t>>1]+1;",
  );
  if (o.kind === "block") {
    // A WebAssembly translation for the counting loop counts its own
    // block starts (core/_wasm.ts).
    return body.replace("bk.run(", "bk.crun(").replace(
      "budget-=done-1;",
      "budget-=done-1;if(!bk.wasm&&done===bk.n&&bk.branch)cnt[pcOff>>1]++;",
    );
  }
  if (o.cond !== undefined || o.kind === "csr") {
    return replaceLast(jumped, "break;", `${NEXT}break;`);
  }
  return jumped;
}

/** The body of op `o`'s case in the plain loop. */
function caseCode(o: OpDef): string {
  if (o.exec !== undefined) {
    // Bind only the operands the semantics use (fewer interpreter
    // registers in this one big function).
    const uses = (v: string) => new RegExp(`\\b${v}\\b`).test(o.exec!);
    const bind = [
      uses("d") ? "d=(w>>>8)&127" : "",
      uses("a") ? "a=(w>>>15)&63" : "",
      uses("b") ? "b=(w>>>21)&63" : "",
      uses("i") ? "i=imm" : "",
      uses("off") ? "off=pcOff" : "",
    ].filter((v) => v !== "").join(",");
    return `{${bind === "" ? "" : `const ${bind};`}${o.exec}break;}`;
  }
  if (o.cond !== undefined) {
    return `{const a=(w>>>15)&63,b=(w>>>21)&63;if(${o.cond}){` +
      `const t=pcOff+imm;${GOTO}}break;}`;
  }
  const m = o.mem;
  if (m !== undefined && !m.fp && !m.noOffset) {
    return m.load ? loadCase(m.size, m.signed === true) : storeCase(m.size);
  }
  const kind = o.kind ?? (m?.fp ? "fpMem" : m?.noOffset ? "amo" : undefined);
  const code = kind === undefined ? undefined : KINDS[kind];
  if (code === undefined) {
    throw new Error(
      `ISA table: op ${o.name} has no exec, cond, mem or known kind (${kind})`,
    );
  }
  return code;
}

/**
 * The source of the loop. The counting variant (`counted`) also counts, per
 * decoded page slot, how often a block started there: after a branch, a jump
 * or a CSR instruction, and wherever the loop (re-)enters a page (a trap, a
 * page crossing, a new slice), counted where the block begins (see `NEXT`),
 * so that straight-line instructions pay nothing. That is all it adds;
 * instrumentation plugins that only count read the counts (see
 * `Cpu.runCounted`).
 */
function runSource(counted: boolean): string {
  // In op-number order, as a dense range of literals (a jump table).
  // Neighbours with the same code (atomics, FP memory, system and CSR
  // instructions, which decode the rest at run time) share one body, so
  // that they share type feedback too.
  const sorted = [...OPS].sort((a, b) => a.code - b.code);
  let cases = "";
  sorted.forEach((o, k) => {
    const body = caseBody(o, counted);
    const next = sorted[k + 1];
    cases += `case ${o.code}: // ${o.name}\n`;
    if (next === undefined || caseBody(next, counted) !== body) {
      cases += `${body}\n`;
    }
  });
  const counting = counted ? "let cnt=P_counts(self,page,0,0);\n" : "";
  const entered = counted
    ? "cnt=P_counts(self,page,vbLo,vbHi);cnt[pcOff>>1]++;"
    : "";
  const loop = `return function run(self,maxInsns){
const x=self.x;const c=P_ctx(self);
const ram8=c.ram8,ram16=c.ram16,ram32=c.ram32;
const tlbRTag=c.tlbRTag,tlbROff=c.tlbROff,tlbWTag=c.tlbWTag,tlbWOff=c.tlbWOff;
const base=self.icount;const useBlocks=self.blocks;const CAP=${WASM_CAP};
let budget=maxInsns;let page=P_scratch(self);
let ops=page.ops,imms=page.imm,heat=page.heat,blocks=page.blocks;
let vbLo=0,vbHi=0,pcOff=0;
${counting}P_begin(self);
let held=budget;budget=0;
for(;;){
if(--budget<0){
if(held<0){budget=0;setPcOff(self,vbLo,vbHi,pcOff);break;}
budget=held;held=-1;if(budget<=0)break;
self.icount=base+(maxInsns-budget);
const entered=P_enter(self,budget);if(entered===undefined)break;
page=entered;ops=page.ops;imms=page.imm;heat=page.heat;blocks=page.blocks;
vbLo=self.pcLo&~4095;vbHi=self.pcHi;pcOff=self.pcLo&4095;budget--;${entered}}
const slot=pcOff>>1;const w=ops[slot];const imm=imms[slot];
switch(w&255){
${cases}
}
pcOff+=2+((w>>>26)&2);}
return P_exit(self,base,maxInsns,budget);};`;
  // The host's closures, bound once as constants of the loop's closure (so
  // that optimizing compilers see fixed call targets).
  const host = [...new Set([...loop.matchAll(/P_(\w+)\(/g)].map((m) => m[1]))]
    .map((n) => `P_${n}=P.${n}`).join(",");
  // #setPcOff, which needs nothing private: a plain function that the
  // optimizing compiler can inline.
  const setPcOff = "function setPcOff(self,vbLo,vbHi,off){" +
    "const s=(vbLo>>>0)+off;self.pcLo=s|0;" +
    "self.pcHi=(vbHi+Math.floor(s/4294967296))|0;}";
  return `"use strict";const ${host};${setPcOff}${loop}`;
}

/** The generated source of the loop (for tests and curious readers). */
export const RUN_SOURCE: string = runSource(false);

/** What the loop needs from the hart (see `Cpu.#P`). */
export type RunHost = Record<string, unknown>;

/**
 * Make the loop for a hart class, from {@linkcode RUN_SOURCE} (or, with
 * `counted`, the same loop with block-start counts).
 *
 * @param host closures over the hart's private machinery
 * @param counted make the counting loop
 * @returns the loop: `run(cpu, maxInsns)` returns a `StopReason`
 */
export function makeRun(host: RunHost, counted = false): RunFn {
  return new Function(
    "H",
    "P",
    counted ? runSource(true) : RUN_SOURCE,
  )({
    R,
    mul64,
    mulh64,
    mulhsu64,
    mulhu64,
    div64,
    divu64,
    div32,
    divu32,
  }, host) as RunFn;
}
