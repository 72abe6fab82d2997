/**
 * Test setup: make sure the Debian packages that the tests need are
 * installed. As root with apt-get, it installs what is missing; otherwise it
 * prints the exact command to run and exits with status 1.
 *
 * Run: `deno run --allow-run tests/setup.ts`
 *
 * @module
 */

/** Debian packages the test suite uses, and what for. */
export const PACKAGES: Record<string, string> = {
  "gcc-riscv64-unknown-elf": "rebuilds the guest test programs",
  "picolibc-riscv64-unknown-elf": "C library headers for guest programs",
  "opensbi": "the real M-mode firmware that must boot",
  "u-boot-qemu": "the real U-Boot builds that must boot",
  "qemu-system-misc": "the reference emulator for cross-checks",
  "device-tree-compiler": "decompiles the generated device tree in tests",
  "make": "builds the guest programs",
  "gdb-multiarch": "the debugger that drives deja's GDB stub in tests",
  "e2fsprogs": "mke2fs -d makes the ext4 disk images of the virtio tests",
  "qemu-utils": "qemu-img makes the qcow2 images of the virtio tests",
  "gcc-riscv64-linux-gnu": "compiles the Linux test root's static init",
  "libc6-dev-riscv64-cross": "static glibc for the Linux test root's init",
};

async function run(cmd: string, args: string[]): Promise<number> {
  try {
    const p = new Deno.Command(cmd, {
      args,
      stdout: "inherit",
      stderr: "inherit",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    });
    return (await p.output()).code;
  } catch {
    return 127;
  }
}

async function installed(pkg: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("dpkg-query", {
      args: ["-W", "-f=${Status}", pkg],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).includes(
      "install ok installed",
    );
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const missing: string[] = [];
  for (const pkg of Object.keys(PACKAGES)) {
    if (!(await installed(pkg))) missing.push(pkg);
  }
  if (missing.length === 0) {
    console.log("setup: all Debian packages for the tests are installed");
    Deno.exit(0);
  }
  const isRoot = Deno.uid?.() === 0;
  console.log(`setup: installing ${missing.join(" ")}`);
  if (
    isRoot && await run("apt-get", ["update", "-qq"]) === 0 &&
    await run("apt-get", ["install", "-y", "-qq", ...missing]) === 0
  ) {
    Deno.exit(0);
  }
  console.error(
    `setup: cannot install the Debian packages the tests need:\n` +
      missing.map((p) => `  ${p}: ${PACKAGES[p]}`).join("\n") +
      `\nRun as root: apt-get update && apt-get install -y ${
        missing.join(" ")
      }`,
  );
  Deno.exit(1);
}
