/**
 * Typed plugin options. A plugin declares a small schema (each key a number,
 * string, boolean or one of a list of words, with an optional default), and
 * the loader parses the `key=value` strings of `-device` and `-plugin` into
 * an object whose type follows from the schema.
 *
 * @example Parse the options of a sensor plugin
 * ```ts
 * import { defineOptions, parseOptions } from "./options.ts";
 * const schema = defineOptions({
 *   file: { type: "string", description: "host file with one reading a line" },
 *   scale: { type: "number", default: 1, description: "multiply readings" },
 * });
 * const o = parseOptions("sensor", schema, { file: "/tmp/t.txt", scale: "0x10" });
 * const file: string | undefined = o.file;
 * const scale: number = o.scale;
 * console.log(file, scale); // /tmp/t.txt 16
 * ```
 *
 * @module
 */

/** A number option: decimal, or hexadecimal with `0x`, or binary with `0b`. */
export interface NumberOption {
  /** The discriminant. */
  readonly type: "number";
  /** What the option does, for error messages and `help`. */
  readonly description?: string;
  /** The value when the option is not given; without it, it may be absent. */
  readonly default?: number;
  /** Whether the option must be given. @default {false} */
  readonly required?: boolean;
  /** The smallest value allowed. */
  readonly min?: number;
  /** The largest value allowed. */
  readonly max?: number;
  /** Whether only integers are allowed. @default {true} */
  readonly integer?: boolean;
}

/** A string option (any text after `=`). */
export interface StringOption {
  /** The discriminant. */
  readonly type: "string";
  /** What the option does. */
  readonly description?: string;
  /** The value when the option is not given. */
  readonly default?: string;
  /** Whether the option must be given. @default {false} */
  readonly required?: boolean;
}

/** A boolean option: `on`/`off`, `true`/`false`, `yes`/`no`, `1`/`0`. */
export interface BooleanOption {
  /** The discriminant. */
  readonly type: "boolean";
  /** What the option does. */
  readonly description?: string;
  /** The value when the option is not given. */
  readonly default?: boolean;
  /** Whether the option must be given. @default {false} */
  readonly required?: boolean;
}

/** An option that takes one of a list of words. */
export interface EnumOption<V extends string = string> {
  /** The discriminant. */
  readonly type: "enum";
  /** The words allowed. */
  readonly values: readonly V[];
  /** What the option does. */
  readonly description?: string;
  /** The value when the option is not given. */
  readonly default?: V;
  /** Whether the option must be given. @default {false} */
  readonly required?: boolean;
}

/** One option's declaration. */
export type OptionSpec =
  | NumberOption
  | StringOption
  | BooleanOption
  | EnumOption;

/** A plugin's option schema: option name to declaration. */
export type OptionsSchema = { readonly [key: string]: OptionSpec };

/** The parsed value type of one option declaration. */
export type OptionValue<S extends OptionSpec> = S extends NumberOption ? number
  : S extends StringOption ? string
  : S extends BooleanOption ? boolean
  : S extends EnumOption<infer V> ? V
  : never;

/** Whether an option is always present after parsing (default or required). */
export type OptionPresent<S> = S extends { default: unknown } ? true
  : S extends { required: true } ? true
  : false;

/**
 * The parsed options of a schema: an option with a default or `required:
 * true` is always there; any other may be `undefined`.
 */
export type OptionsOf<S extends OptionsSchema> =
  & {
    -readonly [K in keyof S as OptionPresent<S[K]> extends true ? K : never]:
      OptionValue<S[K]>;
  }
  & {
    -readonly [K in keyof S as OptionPresent<S[K]> extends true ? never : K]?:
      | OptionValue<S[K]>
      | undefined;
  };

/**
 * Declare an option schema, keeping its literal types (enum words,
 * defaults).
 *
 * @param schema the schema
 * @returns the same object
 * @example A schema with an enum
 * ```ts
 * import { defineOptions } from "./options.ts";
 * const s = defineOptions({ mode: { type: "enum", values: ["fast", "exact"], default: "exact" } });
 * console.log(s.mode.values); // ["fast", "exact"]
 * ```
 */
export function defineOptions<const S extends OptionsSchema>(schema: S): S {
  return schema;
}

/**
 * Bad plugin options: an unknown key, a value that does not parse, a
 * missing required option. The message names the plugin, the option and
 * what is expected.
 */
export class PluginOptionsError extends TypeError {
  /** The plugin whose options are wrong. */
  readonly plugin: string;
  /** The option that is wrong. */
  readonly option: string;

  /**
   * Create the error.
   *
   * @param plugin the plugin name
   * @param option the option name
   * @param detail what is wrong and what is expected
   */
  constructor(plugin: string, option: string, detail: string) {
    super(`Bad option ${option} for plugin ${plugin}: ${detail}`);
    this.name = "PluginOptionsError";
    this.plugin = plugin;
    this.option = option;
  }
}

/**
 * Split `key=value,key=value` into pairs. A key without `=` gets the value
 * `"on"` (QEMU's boolean shorthand); `,,` stands for a literal comma.
 *
 * @param text the option text
 * @returns the pairs in order
 * @throws {SyntaxError} if a key is empty or given twice
 * @example Split an option string
 * ```ts
 * import { splitKeyValues } from "./options.ts";
 * console.log(splitKeyValues("addr=0x10010000,irq=12,verbose"));
 * // { addr: "0x10010000", irq: "12", verbose: "on" }
 * ```
 */
export function splitKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === "") return out;
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "," && text[i + 1] === ",") {
      cur += ",";
      i++;
    } else if (c === ",") {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  for (const p of parts) {
    const eq = p.indexOf("=");
    const key = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? "on" : p.slice(eq + 1);
    if (key === "") {
      throw new SyntaxError(
        `Cannot parse options ${
          JSON.stringify(text)
        }: an option has no name; write key=value`,
      );
    }
    if (Object.hasOwn(out, key)) {
      throw new SyntaxError(
        `Cannot parse options ${JSON.stringify(text)}: ${key} is given twice`,
      );
    }
    out[key] = value;
  }
  return out;
}

/**
 * Parse a number the way options and addresses are written: decimal,
 * `0x` hexadecimal, `0o` octal or `0b` binary, with an optional sign.
 *
 * @param text the text
 * @returns the number, or undefined if it does not parse
 * @example Parse an address
 * ```ts
 * import { parseNumber } from "./options.ts";
 * console.log(parseNumber("0x10010000")); // 268500992
 * ```
 */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (/^[+-]?(0x[0-9a-f_]+|0o[0-7_]+|0b[01_]+)$/i.test(t)) {
    const neg = t.startsWith("-");
    const body = t.replace(/^[+-]/, "").replaceAll("_", "");
    const v = Number(body);
    return Number.isFinite(v) ? (neg ? -v : v) : undefined;
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  return undefined;
}

/**
 * Parse an integer exactly: decimal, or `0x`/`0o`/`0b` with optional `_`
 * separators, as a bigint (no rounding, however large).
 *
 * @param text the text
 * @returns the integer, or undefined if the text is not one
 * @example
 * ```ts
 * import { parseInteger } from "./options.ts";
 * console.log(parseInteger("0x8000_0000_0000_0001")); // 9223372036854775809n
 * console.log(parseInteger("1.5")); // undefined
 * ```
 */
export function parseInteger(text: string): bigint | undefined {
  const t = text.trim();
  const m = /^([+-]?)(0x[0-9a-f_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*)$/i.exec(t);
  if (!m || m[2]!.endsWith("_")) return undefined;
  const v = BigInt(m[2]!.replaceAll("_", ""));
  return m[1] === "-" ? -v : v;
}

/**
 * Parse a physical address option (`addr=`) exactly, and check it: a
 * non-negative integer, 4-byte aligned, inside the 56-bit physical address
 * space of RV64, and at most 2^53 - 1 (what deja's bus maps exactly).
 *
 * @param plugin the plugin, for the message
 * @param option the option's name
 * @param text the value
 * @returns the address
 * @throws {PluginOptionsError} naming the option and what is wrong
 * @example Refuse an address beyond the physical address space
 * ```ts
 * import { parseAddress, PluginOptionsError } from "./options.ts";
 * console.log(parseAddress("led", "addr", "0x10010000")); // 268500992
 * try {
 *   parseAddress("led", "addr", "0x8000000000000000");
 * } catch (e) {
 *   if (!(e instanceof PluginOptionsError)) throw e;
 *   console.log(e.message);
 * }
 * ```
 */
export function parseAddress(
  plugin: string,
  option: string,
  text: string,
): number {
  const v = parseInteger(text);
  if (v === undefined || v < 0n) {
    throw new PluginOptionsError(
      plugin,
      option,
      `${text} is not an address; write it like 0x10010000`,
    );
  }
  if (v >= PHYS_ADDR_LIMIT) {
    throw new PluginOptionsError(
      plugin,
      option,
      `${text} is outside the physical address space (0 to 0x${
        (PHYS_ADDR_LIMIT - 1n).toString(16)
      }); the board leaves 0x10010000 to 0x1fffffff free for devices`,
    );
  }
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PluginOptionsError(
      plugin,
      option,
      `${text} is above 0x${
        Number.MAX_SAFE_INTEGER.toString(16)
      }, the highest address deja's bus maps exactly; the board leaves 0x10010000 to 0x1fffffff free for devices`,
    );
  }
  if (v % 4n !== 0n) {
    throw new PluginOptionsError(
      plugin,
      option,
      `${text} is not 4-byte aligned; write it like 0x10010000`,
    );
  }
  return Number(v);
}

/** RV64's physical addresses are 56 bits (Sv39, Sv48 and Sv57 alike). */
export const PHYS_ADDR_LIMIT = 1n << 56n;

const TRUE = new Set(["on", "true", "yes", "1"]);
const FALSE = new Set(["off", "false", "no", "0"]);

/**
 * Parse `key=value` strings (or an object of them) into typed options.
 *
 * @param plugin the plugin name, for error messages
 * @param schema the plugin's option schema
 * @param input the text (`a=1,b=x`) or the pairs
 * @returns the typed options, defaults filled in
 * @throws {PluginOptionsError} for an unknown option, a value that does not
 * parse or is out of range, or a missing required option
 * @example Reject an unknown option
 * ```ts
 * import { parseOptions, PluginOptionsError } from "./options.ts";
 * try {
 *   parseOptions("led", { count: { type: "number" } }, "cont=3");
 * } catch (e) {
 *   if (!(e instanceof PluginOptionsError)) throw e;
 *   console.log(e.message);
 *   // Bad option cont for plugin led: it is not an option of led; it takes count
 * }
 * ```
 */
export function parseOptions<const S extends OptionsSchema>(
  plugin: string,
  schema: S,
  input: string | Readonly<Record<string, string>>,
): OptionsOf<S> {
  const pairs = typeof input === "string" ? splitKeyValues(input) : input;
  const out: Record<string, unknown> = {};
  const known = Object.keys(schema);
  for (const [key, raw] of Object.entries(pairs)) {
    const spec = schema[key];
    if (!spec) {
      throw new PluginOptionsError(
        plugin,
        key,
        `it is not an option of ${plugin}; ${
          known.length ? `it takes ${known.join(", ")}` : "it takes no options"
        }`,
      );
    }
    out[key] = parseValue(plugin, key, spec, raw);
  }
  for (const [key, spec] of Object.entries(schema)) {
    if (Object.hasOwn(out, key)) continue;
    if (spec.default !== undefined) out[key] = spec.default;
    else if (spec.required) {
      throw new PluginOptionsError(
        plugin,
        key,
        `it is required; add ${key}=${example(spec)}${
          spec.description ? ` (${spec.description})` : ""
        }`,
      );
    }
  }
  return out as OptionsOf<S>;
}

function example(spec: OptionSpec): string {
  switch (spec.type) {
    case "number":
      return "NUMBER";
    case "string":
      return "TEXT";
    case "boolean":
      return "on|off";
    case "enum":
      return spec.values.join("|");
  }
}

function parseValue(
  plugin: string,
  key: string,
  spec: OptionSpec,
  raw: string,
): unknown {
  switch (spec.type) {
    case "string":
      return raw;
    case "boolean": {
      const v = raw.toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      throw new PluginOptionsError(
        plugin,
        key,
        `${JSON.stringify(raw)} is not a boolean; expected on or off`,
      );
    }
    case "enum":
      if (spec.values.includes(raw)) return raw;
      throw new PluginOptionsError(
        plugin,
        key,
        `${JSON.stringify(raw)} is not allowed; expected one of ${
          spec.values.join(", ")
        }`,
      );
    case "number": {
      const v = parseNumber(raw);
      if (v === undefined) {
        throw new PluginOptionsError(
          plugin,
          key,
          `${
            JSON.stringify(raw)
          } is not a number; expected decimal or 0x hexadecimal`,
        );
      }
      if ((spec.integer ?? true) && !Number.isInteger(v)) {
        throw new PluginOptionsError(
          plugin,
          key,
          `${raw} is not an integer`,
        );
      }
      if (
        (spec.min !== undefined && v < spec.min) ||
        (spec.max !== undefined && v > spec.max)
      ) {
        throw new PluginOptionsError(
          plugin,
          key,
          `${raw} is out of range; expected ${spec.min ?? "-∞"} to ${
            spec.max ?? "∞"
          }`,
        );
      }
      return v;
    }
  }
}
