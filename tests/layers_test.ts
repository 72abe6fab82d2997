// The import graph points one way and has no circles:
//
//   core  <-  machine (devices/, plugins/)  <-  replay (replay/)  <-  cli (cli/)  <-  entry points
//
// - core/ imports nothing outside itself;
// - the machine (the board and its devices, the plugin host, the plugin API)
//   knows nothing of logs: no import of replay/ or cli/;
// - replay/ records and replays around the machine (runner, log, session);
// - cli/ is the command; mod.ts, examples/ and bench/ sit on top.
// - plugins/testing.ts is the plugin authors' test kit: it records and
//   replays sessions, so it sits in the replay layer although it lives in
//   plugins/ (nothing in the machine layer imports it).
//
// Also: no file whose name starts with `_` is imported from outside its
// folder (tests included: they use public modules, or tests/_*.ts helpers).
//
// Every non-test .ts file is parsed for its imports (static, `export from`,
// dynamic `import("…")` with a literal, and `new URL("….ts",
// import.meta.url)` for workers).

import { deepEqual, equal, ok } from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** The layers, lowest first. */
const LAYERS = ["core", "machine", "replay", "cli", "top"] as const;
type Layer = typeof LAYERS[number];

/** The layer of each file (path relative to the checkout), explicitly. */
function layerOf(path: string): Layer | undefined {
  if (path === "plugins/testing.ts") return "replay"; // the test kit
  if (path.startsWith("core/")) return "core";
  if (path.startsWith("devices/") || path.startsWith("plugins/")) {
    return "machine";
  }
  if (path.startsWith("replay/")) return "replay";
  if (path.startsWith("cli/")) return "cli";
  if (
    path === "mod.ts" || path.startsWith("examples/") ||
    path.startsWith("bench/")
  ) return "top";
  return undefined; // tests/: only the `_` rule applies
}

/** An import: from one file to another (paths relative to the checkout). */
export interface Edge {
  from: string;
  to: string;
}

/** What is wrong with a graph. */
export interface Violations {
  cycles: string[][];
  upward: string[];
  underscore: string[];
  unplaced: string[];
}

function dir(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

function base(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Check a graph against the rules above. */
export function checkGraph(
  files: readonly string[],
  edges: readonly Edge[],
  layer: (path: string) => Layer | undefined = layerOf,
): Violations {
  const v: Violations = {
    cycles: [],
    upward: [],
    underscore: [],
    unplaced: [],
  };
  for (const f of files) {
    if (!f.startsWith("tests/") && layer(f) === undefined) v.unplaced.push(f);
  }
  for (const { from, to } of edges) {
    if (base(to).startsWith("_") && dir(to) !== dir(from)) {
      v.underscore.push(`${from} -> ${to}`);
    }
    const a = layer(from), b = layer(to);
    if (a === undefined || b === undefined) continue;
    if (LAYERS.indexOf(b) > LAYERS.indexOf(a)) {
      v.upward.push(`${from} (${a}) -> ${to} (${b})`);
    }
  }
  // Cycles: depth-first search over the non-test files.
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (e.from.startsWith("tests/")) continue;
    next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  }
  const state = new Map<string, 1 | 2>(); // 1: on the stack, 2: done
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const t of next.get(f) ?? []) {
      const s = state.get(t);
      if (s === 1) {
        const cycle = [...stack.slice(stack.indexOf(t)), t];
        const key = [...cycle].slice(0, -1).sort().join(" ");
        if (!seen.has(key)) {
          seen.add(key);
          v.cycles.push(cycle);
        }
      } else if (s === undefined) visit(t);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of [...next.keys()].sort()) if (!state.has(f)) visit(f);
  return v;
}

const IMPORT_RES = [
  /\b(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']/g,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  /new URL\(\s*["']([^"']+\.ts)["']\s*,\s*import\.meta\.url\s*\)/g,
];

/** The relative imports of a source text. */
export function importsOf(text: string): string[] {
  // Leave comments out (JSDoc examples import as they please).
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /(^|[^:"'])\/\/.*$/gm,
    "$1",
  );
  const out: string[] = [];
  for (const re of IMPORT_RES) {
    for (const m of code.matchAll(re)) {
      if (m[1]!.startsWith(".")) out.push(m[1]!);
    }
  }
  return out;
}

function resolve(from: string, spec: string): string {
  const parts = dir(from).split("/").filter((p) => p !== "");
  for (const p of spec.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

async function sourceFiles(at = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}/${at || "."}`)) {
    const path = at ? `${at}/${e.name}` : e.name;
    if (e.isDirectory) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      if (path === "tests/fixtures" || e.name === "build") continue;
      out.push(...await sourceFiles(path));
    } else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

async function projectGraph(): Promise<{ files: string[]; edges: Edge[] }> {
  const files = await sourceFiles();
  const edges: Edge[] = [];
  for (const f of files) {
    const text = await Deno.readTextFile(`${ROOT}/${f}`);
    for (const spec of importsOf(text)) {
      edges.push({ from: f, to: resolve(f, spec) });
    }
  }
  return { files, edges };
}

Deno.test("the import graph has no circles, points one way, and keeps _ files in their folder", async () => {
  const { files, edges } = await projectGraph();
  ok(files.length > 50, `only ${files.length} files found`);
  ok(edges.length > 100, `only ${edges.length} imports found`);
  // The parser sees the imports it must: a spot check.
  ok(edges.some((e) => e.from === "devices/virt.ts" && e.to === "core/cpu.ts"));
  ok(
    edges.some((e) =>
      e.from === "cli/main.ts" && e.to === "cli/_vcpu_worker.ts"
    ),
  );
  const v = checkGraph(files, edges);
  const show = (what: string, list: unknown[]) =>
    `${what}:\n  ${list.map((x) => JSON.stringify(x)).join("\n  ")}`;
  deepEqual(v.unplaced, [], show("files with no layer", v.unplaced));
  deepEqual(v.upward, [], show("imports that point up the layers", v.upward));
  deepEqual(
    v.underscore,
    [],
    show("_ files imported from outside their folder", v.underscore),
  );
  deepEqual(v.cycles, [], show("import circles", v.cycles));
});

Deno.test("the layer check fails on a circle, an upward import and a foreign _ import", () => {
  const files = [
    "core/a.ts",
    "core/b.ts",
    "devices/board.ts",
    "replay/log.ts",
    "cli/_worker.ts",
    "cli/main.ts",
    "tests/x_test.ts",
    "stray.ts",
  ];
  const edges: Edge[] = [
    { from: "core/a.ts", to: "core/b.ts" },
    { from: "core/b.ts", to: "core/a.ts" }, // circle
    { from: "devices/board.ts", to: "replay/log.ts" }, // upward
    { from: "cli/main.ts", to: "cli/_worker.ts" }, // fine: same folder
    { from: "replay/log.ts", to: "cli/_worker.ts" }, // upward and foreign _
    { from: "tests/x_test.ts", to: "cli/_worker.ts" }, // foreign _ from a test
    { from: "cli/main.ts", to: "devices/board.ts" }, // fine: downward
  ];
  const v = checkGraph(files, edges);
  deepEqual(v.cycles, [["core/a.ts", "core/b.ts", "core/a.ts"]]);
  deepEqual(v.upward, [
    "devices/board.ts (machine) -> replay/log.ts (replay)",
    "replay/log.ts (replay) -> cli/_worker.ts (cli)",
  ]);
  deepEqual(v.underscore, [
    "replay/log.ts -> cli/_worker.ts",
    "tests/x_test.ts -> cli/_worker.ts",
  ]);
  deepEqual(v.unplaced, ["stray.ts"]);
  // A longer circle across folders is found too.
  const long = checkGraph(["core/a.ts", "devices/b.ts", "replay/c.ts"], [
    { from: "core/a.ts", to: "devices/b.ts" },
    { from: "devices/b.ts", to: "replay/c.ts" },
    { from: "replay/c.ts", to: "core/a.ts" },
  ]);
  equal(long.cycles.length, 1);
  equal(long.upward.length, 2);
});

Deno.test("the import parser finds every form of import", () => {
  const text = `
import { a } from "./a.ts";
import type { B } from "../b/b.ts";
export * from "./c.ts";
export { d } from "./d.ts";
import "./e.ts";
const f = await import("./f.ts");
const w = new Worker(new URL("./_g.ts", import.meta.url), { type: "module" });
// import { no } from "./comment.ts";
/** import { no } from "./doc.ts"; */
import { std } from "node:assert/strict";
`;
  deepEqual(importsOf(text).sort(), [
    "../b/b.ts",
    "./_g.ts",
    "./a.ts",
    "./c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
  ]);
});
