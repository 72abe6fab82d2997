// Test helper: a fast 64-bit hash of a machine's state, for comparing many
// states of 128 MiB in seconds (the machine's SHA-256 stateHash is slower).

import type { VirtMachine } from "../devices/virt.ts";

/**
 * Hash every snapshot section (hart, clock, board, RAM, each device), or
 * with `ramOnly` just RAM.
 */
export function quickHash(m: VirtMachine, ramOnly = false): string {
  const p = m.snapshotParts();
  let h1 = 0x811c9dc5 | 0, h2 = 0x2545f491 | 0;
  const mix = (b: Uint8Array) => {
    const words = b.length >> 2;
    const w = new Int32Array(b.buffer, b.byteOffset, words);
    for (let i = 0; i < words; i++) {
      h1 = Math.imul(h1 ^ w[i]!, 0x01000193);
      h2 = Math.imul(h2 + w[i]!, 0x5bd1e995) ^ (h2 >>> 15);
    }
    for (let i = words * 4; i < b.length; i++) {
      h1 = Math.imul(h1 ^ b[i]!, 0x01000193);
    }
    h2 = Math.imul(h2 ^ b.length, 0x5bd1e995);
  };
  if (!ramOnly) {
    // Sections may start at any byte: copy the small ones to aligned buffers.
    for (const s of [p.hart, p.clock, p.board]) mix(s.slice());
  }
  mix(p.ram);
  if (!ramOnly) { for (const d of p.devices) mix(d.state.slice()); }
  return `${(h1 >>> 0).toString(16)}.${(h2 >>> 0).toString(16)}`;
}
