// Logs recorded by an older deja (commit 6bc6bf7, before issue 9 split the
// machine from the replay engine and made the core inputs registered event
// kinds) still replay: the same serial output, every state hash matching.
// See tests/fixtures/old_logs/README.md for how they were recorded.

import { equal, ok } from "node:assert/strict";
import { ReplayLogReader } from "../replay/log.ts";
import { deja, ROOT } from "./_deja.ts";

const DIR = `${ROOT}/tests/fixtures/old_logs`;
const FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

const cases: { name: string; args: string[]; read: string[] }[] = [
  {
    name: "demo",
    args: [
      "-M",
      "virt",
      "-bios",
      "none",
      "-kernel",
      `${ROOT}/examples/guest/demo.elf`,
    ],
    read: [],
  },
  {
    name: "uboot",
    args: ["-M", "virt", "-bios", FW, "-kernel", UBOOT_S],
    read: [FW, UBOOT_S],
  },
  {
    name: "sensor",
    args: [
      "-bios",
      "none",
      "-kernel",
      `${ROOT}/examples/sensor/guest/sensor.elf`,
      "-device",
      // The readings file is not needed in a replay: the log has them.
      `${ROOT}/examples/sensor/sensor_plugin.ts,addr=0x10010000,irq=12,file=/nonexistent/readings.txt,period=3`,
    ],
    read: [],
  },
];

for (const c of cases) {
  Deno.test(`an old ${c.name} log replays with every state hash matching`, async () => {
    const log = `${DIR}/${c.name}.rr`;
    const hashes = [...new ReplayLogReader(await Deno.readFile(log))]
      .filter((e) => e.kind === "state-hash").length;
    ok(hashes > 0, "the fixture holds state hashes to check");
    const r = await deja(
      [`--allow-read=${[ROOT, ...c.read].join(",")}`],
      [...c.args, "-nographic", "-icount", `shift=3,rr=replay,rrfile=${log}`],
    );
    equal(r.code, 0, r.stderr);
    equal(r.stderr, "");
    equal(r.stdout, await Deno.readTextFile(`${DIR}/${c.name}.out`));
  });
}

Deno.test("an old log's state hashes are checked, not skipped: a changed one stops the replay", async () => {
  const bytes = await Deno.readFile(`${DIR}/demo.rr`);
  const hash = [...new ReplayLogReader(bytes)].find((e) =>
    e.kind === "state-hash"
  )!;
  // id, u64 icount, u8 parts, then the first part's 16 bytes (RAM).
  const changed = bytes.slice();
  changed[hash.byteOffset + 1 + 8 + 1]! ^= 0xff;
  const file = await Deno.makeTempFile({ suffix: ".rr" });
  try {
    await Deno.writeFile(file, changed);
    const r = await deja(
      [`--allow-read=${ROOT},${file}`],
      [
        ...cases[0]!.args,
        "-nographic",
        "-icount",
        `shift=3,rr=replay,rrfile=${file}`,
      ],
    );
    equal(r.code, 1);
    ok(
      r.stderr.includes(
        `the state hash differs (ram): the replay left the recording after instruction 0 and by instruction ${hash.icount}`,
      ),
      r.stderr,
    );
  } finally {
    await Deno.remove(file);
  }
});
