/**
 * A builder for flattened device trees (DTB format version 17).
 *
 * Reference: the Devicetree Specification v0.4, chapter 5 (flattened
 * devicetree format): a 40-byte big-endian header, the memory reservation
 * block (here always empty: one terminating entry), the structure block of
 * `FDT_BEGIN_NODE`/`FDT_PROP`/`FDT_END_NODE` tokens ending in `FDT_END`, and
 * the strings block of property names, each stored once.
 *
 * @module
 */

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_END = 9;
const HEADER_SIZE = 40;
const RSVMAP_SIZE = 16;

/** Options for {@linkcode FdtBuilder}. */
export interface FdtBuilderOptions {
  /**
   * `boot_cpuid_phys` in the header: the hart that boots.
   *
   * @default {0}
   */
  bootCpuId?: number;
}

/**
 * Writes a device tree node by node, in the order given.
 *
 * Nodes open with {@linkcode FdtBuilder.beginNode} and close with
 * {@linkcode FdtBuilder.endNode}; the first node is the root, named `""`. A
 * node's properties come before its children. Every method but `finish`
 * returns the builder, so calls chain.
 *
 * @example Build a tiny tree
 * ```ts
 * import { FdtBuilder } from "./fdt.ts";
 * const fdt = new FdtBuilder();
 * fdt.beginNode("").propU32("#address-cells", 2).propStr("model", "demo");
 * const ph = fdt.allocPhandle();
 * fdt.beginNode("intc").propU32("phandle", ph).prop("interrupt-controller")
 *   .endNode();
 * const dtb = fdt.endNode().finish();
 * if (new DataView(dtb.buffer).getUint32(0) !== 0xd00dfeed) {
 *   throw new Error("unreachable");
 * }
 * ```
 */
export class FdtBuilder {
  #struct = new ByteWriter();
  #strings = new ByteWriter();
  #stringOffsets = new Map<string, number>();
  /** Names of the open nodes, root first. */
  #path: string[] = [];
  /** Whether each open node already has a child (then no more properties). */
  #hasChild: boolean[] = [];
  #rootDone = false;
  #nextPhandle = 1;
  #bootCpuId: number;

  /**
   * Start an empty tree.
   *
   * @param options header fields
   */
  constructor(options: FdtBuilderOptions = {}) {
    this.#bootCpuId = checkU32(options.bootCpuId ?? 0, "bootCpuId");
  }

  /**
   * Hand out the next unused phandle (1, 2, 3, …).
   *
   * @returns the phandle; store it with `propU32("phandle", n)`
   */
  allocPhandle(): number {
    return this.#nextPhandle++;
  }

  /**
   * Open a node inside the current one (or the root, named `""`).
   *
   * @param name the node name, with its unit address (`"serial@10000000"`)
   * @returns this builder
   * @throws {TypeError} for a second root, an empty or malformed name
   */
  beginNode(name: string): this {
    if (this.#path.length === 0) {
      if (this.#rootDone || name !== "") {
        throw new TypeError(
          `Cannot begin node ${JSON.stringify(name)}: ${
            this.#rootDone
              ? "the root is already closed"
              : 'the root is named ""'
          }`,
        );
      }
    } else if (name === "" || /[/\0]/.test(name)) {
      throw new TypeError(
        `Cannot begin node ${JSON.stringify(name)} in ${this.#where()}: ` +
          "names are non-empty and have no / or NUL",
      );
    } else {
      this.#hasChild[this.#hasChild.length - 1] = true;
    }
    this.#path.push(name);
    this.#hasChild.push(false);
    this.#struct.u32(FDT_BEGIN_NODE);
    this.#struct.bytes(cString(name));
    this.#struct.align4();
    return this;
  }

  /**
   * Close the current node.
   *
   * @returns this builder
   * @throws {TypeError} if no node is open
   */
  endNode(): this {
    if (this.#path.length === 0) {
      throw new TypeError("Cannot end node: no node is open");
    }
    this.#path.pop();
    this.#hasChild.pop();
    if (this.#path.length === 0) this.#rootDone = true;
    this.#struct.u32(FDT_END_NODE);
    return this;
  }

  /**
   * Add a property with raw bytes, or an empty one (`interrupt-controller;`).
   *
   * @param name property name
   * @param value the value
   * @returns this builder
   * @throws {TypeError} outside a node, or after the node's first child
   */
  prop(name: string, value: Uint8Array = new Uint8Array()): this {
    if (this.#path.length === 0) {
      throw new TypeError(`Cannot add property ${name}: no node is open`);
    }
    if (this.#hasChild[this.#hasChild.length - 1]) {
      throw new TypeError(
        `Cannot add property ${name} to ${this.#where()}: properties come before child nodes`,
      );
    }
    if (name === "" || name.includes("\0")) {
      throw new TypeError(
        `Cannot add property ${JSON.stringify(name)} to ${this.#where()}: ` +
          "names are non-empty and have no NUL",
      );
    }
    this.#struct.u32(FDT_PROP);
    this.#struct.u32(value.length);
    this.#struct.u32(this.#stringOffset(name));
    this.#struct.bytes(value);
    this.#struct.align4();
    return this;
  }

  /**
   * Add a property of 32-bit big-endian cells.
   *
   * @param name property name
   * @param value one cell or a list of cells
   * @returns this builder
   * @throws {RangeError} if a cell is not an unsigned 32-bit integer
   */
  propU32(name: string, value: number | readonly number[]): this {
    const cells = typeof value === "number" ? [value] : value;
    const out = new Uint8Array(cells.length * 4);
    const view = new DataView(out.buffer);
    cells.forEach((c, i) => view.setUint32(i * 4, checkU32(c, name)));
    return this.prop(name, out);
  }

  /**
   * Add a property of 64-bit big-endian values (two cells each).
   *
   * @param name property name
   * @param value one value or a list of values
   * @returns this builder
   * @throws {RangeError} if a value is not an unsigned 64-bit integer
   */
  propU64(
    name: string,
    value: number | bigint | readonly (number | bigint)[],
  ): this {
    const values = typeof value === "object" ? value : [value];
    const out = new Uint8Array(values.length * 8);
    const view = new DataView(out.buffer);
    values.forEach((v, i) => view.setBigUint64(i * 8, checkU64(v, name)));
    return this.prop(name, out);
  }

  /**
   * Add a NUL-terminated string property.
   *
   * @param name property name
   * @param value the string
   * @returns this builder
   * @throws {TypeError} if the string contains NUL
   */
  propStr(name: string, value: string): this {
    return this.propStrList(name, [value]);
  }

  /**
   * Add a string-list property (`compatible = "a", "b"`).
   *
   * @param name property name
   * @param values the strings
   * @returns this builder
   * @throws {TypeError} if a string contains NUL
   */
  propStrList(name: string, values: readonly string[]): this {
    const parts = values.map((v) => {
      if (v.includes("\0")) {
        throw new TypeError(
          `Cannot add property ${name}: string ${
            JSON.stringify(v)
          } contains NUL`,
        );
      }
      return cString(v);
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return this.prop(name, out);
  }

  /**
   * Assemble the blob.
   *
   * @returns the DTB, version 17 (last compatible version 16)
   * @throws {TypeError} if there is no root or a node is still open
   */
  finish(): Uint8Array {
    if (this.#path.length !== 0 || !this.#rootDone) {
      throw new TypeError(
        this.#rootDone || this.#path.length
          ? `Cannot finish FDT: ${this.#path.length} node(s) still open, innermost ${this.#where()}`
          : "Cannot finish FDT: there is no root node",
      );
    }
    const struct = new ByteWriter();
    struct.bytes(this.#struct.view());
    struct.u32(FDT_END);
    const structBytes = struct.view();
    const strings = this.#strings.view();
    const offStruct = HEADER_SIZE + RSVMAP_SIZE;
    const offStrings = offStruct + structBytes.length;
    const total = offStrings + strings.length;
    const out = new Uint8Array(total);
    const h = new DataView(out.buffer);
    h.setUint32(0, FDT_MAGIC);
    h.setUint32(4, total);
    h.setUint32(8, offStruct);
    h.setUint32(12, offStrings);
    h.setUint32(16, HEADER_SIZE); // off_mem_rsvmap: one zero entry follows
    h.setUint32(20, 17);
    h.setUint32(24, 16);
    h.setUint32(28, this.#bootCpuId);
    h.setUint32(32, strings.length);
    h.setUint32(36, structBytes.length);
    out.set(structBytes, offStruct);
    out.set(strings, offStrings);
    return out;
  }

  #where(): string {
    return "/" + this.#path.slice(1).join("/");
  }

  #stringOffset(name: string): number {
    let off = this.#stringOffsets.get(name);
    if (off === undefined) {
      off = this.#strings.length;
      this.#strings.bytes(cString(name));
      this.#stringOffsets.set(name, off);
    }
    return off;
  }
}

/** A growable big-endian byte buffer. */
class ByteWriter {
  #buf = new Uint8Array(256);
  length = 0;

  #reserve(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
  }

  u32(v: number): void {
    this.#reserve(4);
    const b = this.#buf;
    b[this.length++] = v >>> 24;
    b[this.length++] = v >>> 16;
    b[this.length++] = v >>> 8;
    b[this.length++] = v;
  }

  bytes(v: Uint8Array): void {
    this.#reserve(v.length);
    this.#buf.set(v, this.length);
    this.length += v.length;
  }

  align4(): void {
    const pad = (4 - (this.length & 3)) & 3;
    this.#reserve(pad);
    this.#buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
}

const encoder = new TextEncoder();

function cString(s: string): Uint8Array {
  const b = encoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new RangeError(
      `Cannot encode ${what}: ${v} is not an unsigned 32-bit integer`,
    );
  }
  return v;
}

function checkU64(v: number | bigint, what: string): bigint {
  const b = typeof v === "bigint"
    ? v
    : Number.isSafeInteger(v)
    ? BigInt(v)
    : -1n;
  if (b < 0n || b >= 1n << 64n) {
    throw new RangeError(
      `Cannot encode ${what}: ${v} is not an unsigned 64-bit integer`,
    );
  }
  return b;
}
