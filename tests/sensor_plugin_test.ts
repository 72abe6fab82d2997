// The example third-party device plugin (examples/sensor/): its guest reads
// host readings through the device; a recording replays with the host file
// gone; its state survives a round trip; its guest rebuilds to the same bytes.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import sensor from "../examples/sensor/sensor_plugin.ts";
import {
  assertDeterministicReplay,
  assertStateRoundTrip,
  replaySession,
} from "../plugins/testing.ts";

const GUEST = new URL("../examples/sensor/guest/", import.meta.url);
const kernel = await Deno.readFile(new URL("sensor.elf", GUEST));
const machine = {
  bios: "none" as const,
  kernel,
  memoryBytes: 8 << 20,
  devices: [{ plugin: sensor, addr: 0x1001_0000, irq: 12 }],
};
const READINGS = ["21.5", "21.625", "-3.25", "0", "1000", "7.001", "12", "13"];
const EXPECTED = [
  "sensor: found at 0x10010000, irq 12",
  "reading 1: 21.500",
  "reading 2: 21.625",
  "reading 3: -3.250",
  "reading 4: 0.000",
  "reading 5: 1000.000",
  "reading 6: 7.001",
  "reading 7: 12.000",
  "reading 8: 13.000",
  "sum: 1071.876, dropped: 0",
];

Deno.test("the sensor example records, then replays with its host file deleted", async () => {
  const file = await Deno.makeTempFile({ suffix: ".txt" });
  await Deno.writeTextFile(file, READINGS.join("\n") + "\n");
  const rec = await assertDeterministicReplay(
    machine,
    [{ plugin: sensor.backend!, options: `file=${file},period=2` }],
    () => Deno.remove(file), // the replay must not need the host source
  );
  deepEqual(rec.output.trim().split(/\r?\n/), EXPECTED);
  equal(rec.exit?.kind, "poweroff");
  // The plugin's inputs, apart from the core's (serial, host-clock, ...).
  const readings = rec.log.filter((e) =>
    e.kind === "input" && e.event.startsWith("sensor")
  );
  equal(readings.length, 8, "every reading is a logged replay event");
  ok(
    readings.every((e) => e.kind === "input" && e.event === "sensor.reading"),
  );
  // The readings arrived while the guest slept: at host-chosen moments.
  ok(new Set(readings.map((e) => e.icount)).size > 1);
  await Deno.stat(file).then(
    () => ok(false, "the file should be gone"),
    (e) => ok(e instanceof Deno.errors.NotFound),
  );
  // Replaying again from the same log gives the same output once more.
  const again = await replaySession(rec.log, machine);
  equal(again.output, rec.output);
});

Deno.test("the trap-handler guest takes the sensor's interrupts, and replays", async () => {
  const file = await Deno.makeTempFile({ suffix: ".txt" });
  await Deno.writeTextFile(file, READINGS.join("\n") + "\n");
  const rec = await assertDeterministicReplay(
    {
      ...machine,
      kernel: await Deno.readFile(new URL("sensor_irq.elf", GUEST)),
    },
    [{ plugin: sensor.backend!, options: `file=${file},period=2` }],
    () => Deno.remove(file),
  );
  equal(rec.output.trim(), "readings: 8, sum: 1071876");
  equal(rec.exit?.kind, "poweroff");
});

Deno.test("the sensor's state survives a round trip", () => {
  assertStateRoundTrip(sensor, {
    drive: (_d, io) => {
      io.write(0x0c, 4, 1); // interrupt enable
      for (const v of [1500, -20, 7]) io.emit("sensor.reading", v);
      io.read(0x08, 4); // pop one
    },
  });
});

Deno.test("the sensor's guest rebuilds to the committed bytes", async () => {
  const build = await Deno.makeTempDir();
  try {
    const make = new Deno.Command("make", {
      args: ["-s", "-C", GUEST.pathname, `BUILD=${build}`],
      stdout: "piped",
      stderr: "piped",
    });
    let out: Deno.CommandOutput;
    try {
      out = await make.output();
    } catch (e) {
      throw new Error(
        "Cannot run make: install make and gcc-riscv64-unknown-elf (deno task setup)",
        { cause: e },
      );
    }
    ok(out.success, new TextDecoder().decode(out.stderr));
    deepEqual(await Deno.readFile(`${build}/sensor.elf`), kernel);
    deepEqual(
      await Deno.readFile(`${build}/sensor_irq.elf`),
      await Deno.readFile(new URL("sensor_irq.elf", GUEST)),
    );
  } finally {
    await Deno.remove(build, { recursive: true });
  }
});

Deno.test("the sensor's backend names a bad line of its file", async () => {
  const file = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(file, "1\nwarm\n");
    let err: unknown;
    try {
      await assertDeterministicReplay(machine, [
        { plugin: sensor.backend!, options: `file=${file}` },
      ]);
    } catch (e) {
      err = e;
    }
    ok(err instanceof SyntaxError);
    match(err.message, /line 2 is "warm"; expected a number/);
  } finally {
    await Deno.remove(file);
  }
});
