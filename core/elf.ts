/**
 * A loader for RISC-V ELF64 executables.
 *
 * Reference: the System V gABI ELF-64 object file format and the RISC-V
 * psABI (`EM_RISCV` = 243). Only what a firmware or kernel loader needs is
 * read: the file header, `PT_LOAD` program headers, and the symbol table
 * (for HTIF's `tohost` and `fromhost`). Relocatable and dynamic objects are
 * refused.
 *
 * @module
 */

/** A loadable segment. */
export interface ElfSegment {
  /** Physical load address (`p_paddr`). */
  paddr: number;
  /** Bytes from the file (`p_filesz`). */
  data: Uint8Array;
  /** Size in memory (`p_memsz`); the rest is zero-filled. */
  memSize: number;
}

/** A parsed ELF executable. */
export interface ElfImage {
  /** Entry point. */
  entry: number;
  /** The `PT_LOAD` segments. */
  segments: ElfSegment[];
  /** Symbol values by name (functions and objects only). */
  symbols: Map<string, number>;
}

/**
 * Whether `bytes` starts with the ELF magic number.
 *
 * @param bytes file contents
 * @returns true for an ELF file
 * @example Recognise an ELF header
 * ```ts
 * import { isElf } from "./elf.ts";
 * if (!isElf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]))) throw new Error("unreachable");
 * ```
 */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 &&
    bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * Parse an RV64 ELF executable.
 *
 * @param bytes file contents
 * @param name the file's name, for error messages
 * @returns the entry point, segments and symbols
 * @throws {SyntaxError} if the file is not an RV64 little-endian executable
 * @example Reject a file that is not ELF
 * ```ts
 * import { parseElf } from "./elf.ts";
 * try {
 *   parseElf(new Uint8Array(8), "x.bin");
 * } catch (e) {
 *   if (!(e instanceof SyntaxError)) throw e;
 * }
 * ```
 */
export function parseElf(bytes: Uint8Array, name = "ELF file"): ElfImage {
  const bad = (what: string) => new SyntaxError(`Cannot load ${name}: ${what}`);
  if (!isElf(bytes)) throw bad("not an ELF file");
  if (bytes.length < 64) throw bad("truncated ELF header");
  if (bytes[4] !== 2) throw bad("not a 64-bit ELF file (RV64 is required)");
  if (bytes[5] !== 1) throw bad("not little-endian");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (o: number) => {
    if (o + 8 > bytes.length) throw bad(`truncated at byte ${o}`);
    return Number(dv.getBigUint64(o, true));
  };
  const u32 = (o: number) => {
    if (o + 4 > bytes.length) throw bad(`truncated at byte ${o}`);
    return dv.getUint32(o, true);
  };
  const u16 = (o: number) => {
    if (o + 2 > bytes.length) throw bad(`truncated at byte ${o}`);
    return dv.getUint16(o, true);
  };
  const type = u16(16);
  if (type !== 2) throw bad(`ELF type ${type} is not an executable (ET_EXEC)`);
  const machine = u16(18);
  if (machine !== 243) throw bad(`machine ${machine} is not RISC-V (243)`);
  const entry = u64(24);
  const phoff = u64(32), shoff = u64(40);
  const phentsize = u16(54), phnum = u16(56);
  const shentsize = u16(58), shnum = u16(60);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (u32(o) !== 1) continue; // PT_LOAD
    const offset = u64(o + 8), paddr = u64(o + 24);
    const filesz = u64(o + 32), memsz = u64(o + 40);
    if (offset + filesz > bytes.length) {
      throw bad(`segment ${i} runs past the end of the file`);
    }
    if (memsz === 0) continue;
    segments.push({
      paddr,
      data: bytes.subarray(offset, offset + filesz),
      memSize: memsz,
    });
  }
  if (segments.length === 0) throw bad("no loadable segments");
  const symbols = new Map<string, number>();
  if (shoff !== 0 && shentsize >= 64) {
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      if (o + 64 > bytes.length) break;
      if (u32(o + 4) !== 2) continue; // SHT_SYMTAB
      const symOff = u64(o + 24), symSize = u64(o + 32);
      const link = u32(o + 40), entSize = u64(o + 56) || 24;
      const so = shoff + link * shentsize;
      if (so + 64 > bytes.length) break;
      const strOff = u64(so + 24), strSize = u64(so + 32);
      const dec = new TextDecoder();
      for (let s = symOff; s + 24 <= symOff + symSize; s += entSize) {
        if (s + 24 > bytes.length) break;
        const nameOff = u32(s);
        const info = bytes[s + 4]!;
        const symType = info & 0xf;
        if (symType > 2 && symType !== 0) continue;
        if (nameOff === 0 || nameOff >= strSize) continue;
        let end = strOff + nameOff;
        while (end < strOff + strSize && bytes[end] !== 0) end++;
        const symName = dec.decode(bytes.subarray(strOff + nameOff, end));
        symbols.set(symName, u64(s + 8));
      }
    }
  }
  return { entry, segments, symbols };
}
