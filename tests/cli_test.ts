import assert from "node:assert/strict";
import {
  checkPermissions,
  DEFAULT_BIOS_PATH,
  EscapeFilter,
  gdbListenAddress,
  helpText,
  type MachineConfig,
  parseCommandLine,
  parseSize,
  PermissionError,
  permissionFlags,
  printError,
  type RequiredPermission,
  requiredPermissions,
  UsageError,
  withRawStdin,
} from "../cli/mod.ts";

const MiB = 1024 * 1024;

function defaults(): MachineConfig {
  return {
    machine: "virt",
    memoryBytes: 128 * MiB,
    bios: "default",
    serial: { kind: "stdio" },
    nographic: false,
    noReboot: false,
    smp: 1,
    startPaused: false,
    icount: { shift: 3, sleep: true },
    devices: [],
    plugins: [],
    drives: [],
    netdevs: [],
    virtio: [],
    net: "none",
  };
}

function config(argv: string[]): MachineConfig {
  const command = parseCommandLine(argv);
  assert.equal(command.kind, "run");
  return (command as { kind: "run"; config: MachineConfig }).config;
}

Deno.test("parseCommandLine returns the defaults for no arguments", () => {
  assert.deepEqual(parseCommandLine([]), { kind: "run", config: defaults() });
});

Deno.test("parseCommandLine accepts every supported option form", async (t) => {
  const cases: [string[], Partial<MachineConfig>][] = [
    [["-M", "virt"], {}],
    [["-machine", "virt"], {}],
    [["--machine", "virt"], {}],
    [["-M=virt"], {}],
    [["--M=type=virt"], {}],
    [["-cpu", "rv64"], {}],
    [["-smp", "1"], {}],
    [["-smp", "cpus=1"], {}],
    [["-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1"], {}],
    [["-m", "256"], { memoryBytes: 256 * MiB }],
    [["-m", "256M"], { memoryBytes: 256 * MiB }],
    [["-m", "256m"], { memoryBytes: 256 * MiB }],
    [["-m", "1G"], { memoryBytes: 1024 * MiB }],
    [["-m", "1.5G"], { memoryBytes: 1536 * MiB }],
    [["-m", "2047M"], { memoryBytes: 2047 * MiB }],
    [["-m", "65536K"], { memoryBytes: 64 * MiB }],
    [["-m", "4096B"], { memoryBytes: 4096 }],
    [["-m", "size=128M"], { memoryBytes: 128 * MiB }],
    [["--m", "512M"], { memoryBytes: 512 * MiB }],
    [["-m=64M"], { memoryBytes: 64 * MiB }],
    [["-m", "64", "-m", "32"], { memoryBytes: 32 * MiB }],
    [["-bios", "fw_jump.elf"], { bios: "fw_jump.elf" }],
    [["-bios", "none"], { bios: "none" }],
    [["-bios", "default"], { bios: "default" }],
    [["--bios=./fw.bin"], { bios: "./fw.bin" }],
    [["-kernel", "u-boot.bin"], { kernel: "u-boot.bin" }],
    [["-kernel", "Image", "-append", "console=ttyS0 root=/dev/vda"], {
      kernel: "Image",
      append: "console=ttyS0 root=/dev/vda",
    }],
    [["-kernel", "Image", "-append=earlycon=sbi"], {
      kernel: "Image",
      append: "earlycon=sbi",
    }],
    [["-kernel", "Image", "-append", "-v"], { kernel: "Image", append: "-v" }],
    [["-append", ""], { append: "" }],
    [["-kernel", "Image", "-initrd", "rootfs.cpio"], {
      kernel: "Image",
      initrd: "rootfs.cpio",
    }],
    [["-kernel", "Image", "-dtb", "virt.dtb"], {
      kernel: "Image",
      dtb: "virt.dtb",
    }],
    [["-nographic"], { nographic: true, serial: { kind: "mon:stdio" } }],
    [["--nographic"], { nographic: true, serial: { kind: "mon:stdio" } }],
    [["-nographic", "-serial", "stdio"], {
      nographic: true,
      serial: { kind: "stdio" },
    }],
    [["-serial", "stdio"], { serial: { kind: "stdio" } }],
    [["-serial", "null"], { serial: { kind: "null" } }],
    [["-serial", "mon:stdio"], { serial: { kind: "mon:stdio" } }],
    [["-serial", "tcp:127.0.0.1:4444,server,nowait"], {
      serial: { kind: "tcp", host: "127.0.0.1", port: 4444, wait: false },
    }],
    [["-serial", "tcp::5555,server=on,wait=off"], {
      serial: { kind: "tcp", host: "127.0.0.1", port: 5555, wait: false },
    }],
    [["-serial", "tcp:localhost:5556,server"], {
      serial: { kind: "tcp", host: "localhost", port: 5556, wait: true },
    }],
    [["-serial", "file:out.log"], {
      serial: { kind: "file", path: "out.log" },
    }],
    [["-serial=file:/tmp/a b.log"], {
      serial: { kind: "file", path: "/tmp/a b.log" },
    }],
    [["-display", "none"], {}],
    [["-monitor", "none"], {}],
    [["-net", "none"], {}],
    [["-nic", "none"], {}],
    [["-no-reboot"], { noReboot: true }],
    [["-S"], { startPaused: true }],
    [["-s"], { gdb: "tcp::1234" }],
    [["-s", "-S"], { gdb: "tcp::1234", startPaused: true }],
    [["-gdb", "tcp::3333"], { gdb: "tcp::3333" }],
    [["-gdb", "tcp:localhost:3333"], { gdb: "tcp:localhost:3333" }],
    [["-gdb", "tcp:[::1]:3333"], { gdb: "tcp:[::1]:3333" }],
    [["-s", "-gdb", "none"], {}],
    [["-icount", "5"], { icount: { shift: 5, sleep: true } }],
    [["-icount", "0"], { icount: { shift: 0, sleep: true } }],
    [["-icount", "shift=10"], { icount: { shift: 10, sleep: true } }],
    [["-icount", "auto"], { icount: { shift: "auto", sleep: true } }],
    [["-icount", "shift=auto,sleep=on"], {
      icount: { shift: "auto", sleep: true },
    }],
    [["-icount", "3,sleep=off"], { icount: { shift: 3, sleep: false } }],
    [["-icount", "sleep=no"], { icount: { shift: 3, sleep: false } }],
    [["-icount", "shift=2,align=off"], { icount: { shift: 2, sleep: true } }],
    [["-icount", "shift=7,rr=record,rrfile=replay.bin"], {
      icount: { shift: 7, sleep: true, rr: "record", rrfile: "replay.bin" },
    }],
    [[
      "-icount",
      "shift=1,sleep=off,rr=replay,rrfile=r.bin,rrsnapshot=init,rrcheck=1000",
    ], {
      icount: {
        shift: 1,
        sleep: false,
        rr: "replay",
        rrfile: "r.bin",
        rrsnapshot: "init",
        rrcheck: 1000,
      },
    }],
    [["-icount", "rr=record,rrfile=a,,b.bin"], {
      icount: { shift: 3, sleep: true, rr: "record", rrfile: "a,b.bin" },
    }],
    [["-device", "virtio-rng-device"], { virtio: [{ kind: "rng" }] }],
    [[
      "-netdev",
      "user,id=n0,tftp=/srv/tftp",
      "-device",
      "virtio-net-device,netdev=n0,mac=52:54:00:aa:bb:cc",
    ], {
      netdevs: [{ id: "n0", type: "user", tftp: "/srv/tftp" }],
      virtio: [{
        kind: "net",
        netdev: { id: "n0", type: "user", tftp: "/srv/tftp" },
        mac: [0x52, 0x54, 0, 0xaa, 0xbb, 0xcc],
      }],
    }],
    [[
      "-drive",
      "file=d.qcow2,format=qcow2,if=none,id=hd,snapshot=on",
      "-drive",
      "driver=blkreplay,if=none,image=hd,id=hd2",
      "-device",
      "virtio-blk-device,drive=hd2",
    ], {
      drives: [
        {
          id: "hd",
          file: "d.qcow2",
          format: "qcow2",
          readonly: false,
          snapshot: true,
        },
        {
          id: "hd2",
          format: "raw",
          readonly: false,
          snapshot: false,
          image: "hd",
        },
      ],
      virtio: [{
        kind: "blk",
        drive: {
          id: "hd",
          file: "d.qcow2",
          format: "qcow2",
          readonly: false,
          snapshot: true,
        },
      }],
    }],
    [["-device", "./my_dev.ts,base=0x10010000,irq=11"], {
      devices: [{
        driver: "./my_dev.ts",
        props: { base: "0x10010000", irq: "11" },
      }],
    }],
    [["-device", "driver=loader,file=blob.bin,addr=0x80000000"], {
      devices: [{
        driver: "loader",
        props: { file: "blob.bin", addr: "0x80000000" },
      }],
    }],
    [["-device", "a", "--device=b,x=1"], {
      devices: [{ driver: "a", props: {} }, { driver: "b", props: { x: "1" } }],
    }],
    [["-plugin", "./trace.ts"], {
      plugins: [{ path: "./trace.ts", props: {} }],
    }],
    [["-plugin", "file=./trace.ts,out=trace.log,verbose=on"], {
      plugins: [{
        path: "./trace.ts",
        props: { out: "trace.log", verbose: "on" },
      }],
    }],
  ];
  for (const [argv, expected] of cases) {
    await t.step(argv.join(" "), () => {
      assert.deepEqual(config(argv), { ...defaults(), ...expected });
    });
  }
});

Deno.test("parseCommandLine parses the README command line", () => {
  assert.deepEqual(
    config([
      "-M",
      "virt",
      "-m",
      "256M",
      "-bios",
      "fw_jump.elf",
      "-kernel",
      "u-boot.bin",
      "-nographic",
    ]),
    {
      ...defaults(),
      memoryBytes: 256 * MiB,
      bios: "fw_jump.elf",
      kernel: "u-boot.bin",
      nographic: true,
      serial: { kind: "mon:stdio" },
    },
  );
});

Deno.test("parseCommandLine returns help, version and dump commands", async (t) => {
  const cases: [string[], string][] = [
    [["-h"], "help"],
    [["-help"], "help"],
    [["--help"], "help"],
    [["-version"], "version"],
    [["--version"], "version"],
    [["-m", "64M", "-version", "-foo"], "version"],
    [["dump", "replay.bin"], "dump"],
    [["dump", "--help"], "help"],
  ];
  for (const [argv, kind] of cases) {
    await t.step(argv.join(" "), () => {
      assert.equal(parseCommandLine(argv).kind, kind);
    });
  }
  await t.step("help text", () => {
    assert.deepEqual(parseCommandLine(["-h"]), {
      kind: "help",
      text: helpText(),
    });
  });
  await t.step("dump file", () => {
    assert.deepEqual(parseCommandLine(["dump", "replay.bin"]), {
      kind: "dump",
      file: "replay.bin",
    });
  });
  await t.step("dump --qemu OUT file", () => {
    assert.deepEqual(
      parseCommandLine(["dump", "--qemu", "q.rr", "replay.bin"]),
      { kind: "dump", file: "replay.bin", qemuOut: "q.rr" },
    );
  });
  const lists: [string[], RegExp][] = [
    [["-M", "help"], /^Supported machines are:\nvirt +RISC-V VirtIO board/],
    [["-machine", "?"], /^Supported machines are:/],
    [["-cpu", "help"], /^Available CPUs:\nrv64 /],
    [["-device", "help"], /^-device DRIVER\[,KEY=VALUE\.\.\.\]/],
  ];
  for (const [argv, pattern] of lists) {
    await t.step(argv.join(" "), () => {
      const command = parseCommandLine(argv);
      assert.equal(command.kind, "help");
      assert.match((command as { text: string }).text, pattern);
    });
  }
});

Deno.test("parseCommandLine rejects bad command lines with a usage error", async (t) => {
  const cases: [string[], string][] = [
    [["-foo"], "Unknown option: -foo; run with --help to list the options"],
    [["--foo=1"], "Unknown option: --foo; run with --help to list the options"],
    [
      ["-drive", "file=disk.img"],
      'Invalid value for -drive: "file=disk.img"; no id=; give the drive an id and attach it with -device virtio-blk-device,drive=ID',
    ],
    [
      ["-drive", "file=disk.vmdk,format=vmdk,if=none,id=a"],
      "Unsupported option: -drive file=disk.vmdk,format=vmdk,if=none,id=a: deja reads raw and qcow2 images, not format=vmdk; convert the image with qemu-img convert -O qcow2 (or -O raw)",
    ],
    [
      ["-device", "virtio-blk-device,drive=nope"],
      'Invalid value for -device: "virtio-blk-device,drive=nope"; there is no -drive with id=nope; add -drive file=IMAGE,if=none,id=nope',
    ],
    [
      ["-device", "virtio-net-device,netdev=n"],
      'Invalid value for -device: "virtio-net-device,netdev=n"; there is no -netdev with id=n; add -netdev user,id=n',
    ],
    [
      ["-device", "virtio-gpu-device"],
      "Unsupported option: -device virtio-gpu-device: deja has no virtio-gpu-device; its virtio devices are virtio-blk-device, virtio-net-device and virtio-rng-device; leave it out",
    ],
    [
      ["-netdev", "tap,id=n"],
      "Unsupported option: -netdev tap,id=n: deja's network backends are user (a built-in network with DHCP, ARP, ICMP echo and TFTP), socket and stream (frames over TCP to another deja or QEMU), not tap; use -netdev user,id=ID[,tftp=DIR] or -netdev socket,id=ID,listen=127.0.0.1:PORT",
    ],
    [
      [
        "-netdev",
        "user,id=n",
        "-device",
        "virtio-net-device,netdev=n,mac=01:00:00:00:00:01",
      ],
      'Invalid value for -device: "virtio-net-device,netdev=n,mac=01:00:00:00:00:01"; mac=01:00:00:00:00:01 is a multicast address; use one whose first byte is even',
    ],
    [
      ["-enable-kvm"],
      "Unsupported option: -enable-kvm: deja does not implement it; run with --help to list the options",
    ],
    [
      ["disk.img"],
      'Unexpected argument: "disk.img"; pass files with an option such as -kernel, and run with --help to list the options',
    ],
    [
      ["--"],
      'Unexpected argument: "--"; pass files with an option such as -kernel, and run with --help to list the options',
    ],
    [["-m"], "Missing value for -m: expected a size such as 256M or 1G"],
    [["-kernel"], "Missing value for -kernel: expected a file name"],
    [
      ["-serial"],
      "Missing value for -serial: expected stdio, mon:stdio, null, file:PATH or tcp:127.0.0.1:PORT,server,nowait",
    ],
    [
      ["-nographic=on"],
      'Unexpected value for -nographic: "on"; the option takes no value',
    ],
    [
      ["-m", "12X"],
      'Invalid value for -m: "12X"; expected a size such as 256M or 1G',
    ],
    [
      ["-m", ""],
      'Invalid value for -m: ""; expected a size such as 256M or 1G',
    ],
    [
      ["-m", "-5"],
      'Invalid value for -m: "-5"; expected a size such as 256M or 1G',
    ],
    [
      ["-m", "0"],
      'Invalid value for -m: "0"; guest RAM must be at least 4K',
    ],
    [
      ["-m", "2G"],
      'Invalid value for -m: "2G"; deja supports at most 2047M (2146435072 bytes) of guest RAM',
    ],
    [
      ["-m", "99999999999999999999G"],
      'Invalid value for -m: "99999999999999999999G"; deja supports at most 2047M (2146435072 bytes) of guest RAM',
    ],
    [
      ["-m", "1001K"],
      'Invalid value for -m: "1001K"; guest RAM must be a multiple of 4K',
    ],
    [
      ["-m", "1.1B"],
      'Invalid value for -m: "1.1B"; expected a size such as 256M or 1G',
    ],
    [
      ["-m", "128M,maxmem=1G"],
      "Unsupported option: -m 128M,maxmem=1G: deja has no memory hotplug; give only the size, such as -m 256M",
    ],
    [
      ["-m", "128M,foo=1"],
      'Invalid value for -m: "128M,foo=1"; unknown property "foo"; expected a size such as 256M or 1G',
    ],
    [
      ["-m", "128M,slots"],
      'Invalid value for -m: "128M,slots"; "slots" is not KEY=VALUE; expected a size such as 256M or 1G',
    ],
    [
      ["-M", "sifive_u"],
      "Unsupported option: -M sifive_u: deja emulates only the virt machine; use -M virt",
    ],
    [
      ["-machine", "spike"],
      "Unsupported option: -machine spike: deja emulates only the virt machine; use -machine virt",
    ],
    [
      ["-M", "virt,dumpdtb=out.dtb"],
      "Unsupported option: -M virt,dumpdtb=out.dtb: the virt machine property dumpdtb is not supported; use -M virt",
    ],
    [
      ["-M", "virt,=x"],
      'Invalid value for -M: "virt,=x"; "=x" has no key; expected virt',
    ],
    [
      ["-cpu", "sifive-u54"],
      "Unsupported option: -cpu sifive-u54: deja emulates one rv64gc hart without CPU properties; use -cpu rv64",
    ],
    [
      ["-smp", "4"],
      "Unsupported option: -smp 4: deja emulates one hart; use -smp 1",
    ],
    [
      ["-smp", "cpus=2"],
      "Unsupported option: -smp cpus=2: deja emulates one hart; use -smp 1",
    ],
    [
      ["-smp", "1,cores=2"],
      "Unsupported option: -smp 1,cores=2: deja emulates one hart; use -smp 1",
    ],
    [
      ["-smp", "one"],
      'Invalid value for -smp: "one"; expected 1 or cpus=1',
    ],
    [
      ["-smp", "1,foo=1"],
      'Invalid value for -smp: "1,foo=1"; unknown property "foo"; expected 1 or cpus=1',
    ],
    [
      ["-bios", ""],
      'Invalid value for -bios: ""; expected a file name, none or default',
    ],
    [["-kernel", ""], 'Invalid value for -kernel: ""; expected a file name'],
    [
      ["-append", "console=ttyS0"],
      "Invalid use of -append: it needs -kernel; add -kernel FILE or remove -append",
    ],
    [
      ["-initrd", "rootfs.cpio"],
      "Invalid use of -initrd: it needs -kernel; add -kernel FILE or remove -initrd",
    ],
    [
      ["-dtb", "virt.dtb"],
      "Invalid use of -dtb: it needs -kernel; add -kernel FILE or remove -dtb",
    ],
    [
      ["-serial", "pty"],
      "Unsupported option: -serial pty: deja supports stdio, mon:stdio, null, file:PATH and tcp:HOST:PORT,server backends; use -serial stdio",
    ],
    [
      ["-serial", "tcp:127.0.0.1:4444"],
      "Unsupported option: -serial tcp:127.0.0.1:4444: deja's tcp backend listens; it does not connect out; add ,server (and ,nowait to start without a client): -serial tcp:127.0.0.1:4444,server,nowait",
    ],
    [
      ["-serial", "tcp:127.0.0.1:99999,server"],
      'Invalid value for -serial: "tcp:127.0.0.1:99999,server"; expected tcp:HOST:PORT,server,nowait, such as tcp:127.0.0.1:4444,server,nowait',
    ],
    [
      ["-serial", "none"],
      "Unsupported option: -serial none: the virt machine always has its UART; use -serial null to discard its output",
    ],
    [
      ["-serial", "file:"],
      'Invalid value for -serial: "file:"; file: needs a PATH',
    ],
    [
      ["-serial", ""],
      'Invalid value for -serial: ""; expected stdio, mon:stdio, null, file:PATH or tcp:127.0.0.1:PORT,server,nowait',
    ],
    [
      ["-serial", "stdio", "-serial", "null"],
      "Unsupported option: -serial null: the virt machine has one UART and -serial was already given; give -serial once",
    ],
    [
      ["-display", "gtk"],
      "Unsupported option: -display gtk: deja has no graphical display; use -display none or -nographic",
    ],
    [
      ["-monitor", "stdio"],
      "Unsupported option: -monitor stdio: deja's monitor is on the console (C-a c with -nographic); use -monitor none",
    ],
    [
      ["-net", "user"],
      "Unsupported option: -net user: deja has no network device; use -net none or leave it out",
    ],
    [
      ["-nic", "user,model=virtio"],
      "Unsupported option: -nic user,model=virtio: deja has no network device; use -nic none or leave it out",
    ],
    [
      ["-gdb", "tcp::99999"],
      'Invalid value for -gdb: "tcp::99999"; expected tcp::PORT or tcp:HOST:PORT, such as tcp::1234',
    ],
    [
      ["-gdb", "tcp::"],
      'Invalid value for -gdb: "tcp::"; expected tcp::PORT or tcp:HOST:PORT, such as tcp::1234',
    ],
    [
      ["-gdb", "unix:/tmp/gdb.sock"],
      "Unsupported option: -gdb unix:/tmp/gdb.sock: deja's gdbstub listens only on TCP; use -gdb tcp::1234",
    ],
    [
      ["-icount", "11"],
      'Invalid value for -icount: "11"; shift must be an integer from 0 to 10 or auto',
    ],
    [
      ["-icount", "shift=-1"],
      'Invalid value for -icount: "shift=-1"; shift must be an integer from 0 to 10 or auto',
    ],
    [
      ["-icount", "3,sleep=maybe"],
      'Invalid value for -icount: "3,sleep=maybe"; sleep must be on or off',
    ],
    [
      ["-icount", "auto,sleep=off"],
      'Invalid value for -icount: "auto,sleep=off"; shift=auto and sleep=off are incompatible',
    ],
    [
      ["-icount", "rr=record"],
      'Invalid value for -icount: "rr=record"; rr=record needs rrfile=FILE',
    ],
    [
      ["-icount", "shift=3,rr=replay"],
      'Invalid value for -icount: "shift=3,rr=replay"; rr=replay needs rrfile=FILE',
    ],
    [
      ["-icount", "rr=play,rrfile=r.bin"],
      'Invalid value for -icount: "rr=play,rrfile=r.bin"; rr must be record or replay',
    ],
    [
      ["-icount", "rrfile=r.bin"],
      'Invalid value for -icount: "rrfile=r.bin"; rrfile needs rr=record or rr=replay',
    ],
    [
      ["-icount", "rr=record,rrfile="],
      'Invalid value for -icount: "rr=record,rrfile="; rrfile is empty',
    ],
    [
      ["-icount", "rr=record,rrfile=r,rrcheck=x"],
      'Invalid value for -icount: "rr=record,rrfile=r,rrcheck=x"; rrcheck must be a whole number of instructions',
    ],
    [
      ["-icount", "3,align=on"],
      "Unsupported option: -icount 3,align=on: deja does not align guest time to host time; remove align=on",
    ],
    [
      ["-icount", "3,bogus=1"],
      'Invalid value for -icount: "3,bogus=1"; unknown property "bogus"; expected shift, sleep, rr, rrfile, rrsnapshot or rrcheck',
    ],
    [
      ["-device", "x=1"],
      'Invalid value for -device: "x=1"; no driver; expected DRIVER[,KEY=VALUE...]',
    ],
    [
      ["-device", "virtio-net-device,help"],
      'Invalid value for -device: "virtio-net-device,help"; "help" is not KEY=VALUE; expected DRIVER[,KEY=VALUE...]',
    ],
    [
      ["-plugin", "out=x"],
      'Invalid value for -plugin: "out=x"; no plugin path; expected PATH[,KEY=VALUE...]',
    ],
    [["dump"], "Missing argument for dump: usage: dump FILE"],
    [
      ["dump", "a", "--qemu"],
      "Missing argument for dump --qemu: usage: dump --qemu OUT FILE",
    ],
    [
      ["dump", "a", "b"],
      'Unexpected argument for dump: "b"; dump takes one FILE',
    ],
    [
      ["dump", "-x", "a"],
      "Unknown option for dump: -x; run dump --help for its usage",
    ],
    [
      ["-m", "64M", "-foo", "-h"],
      "Unknown option: -foo; run with --help to list the options",
    ],
  ];
  for (const [argv, message] of cases) {
    await t.step(argv.join(" "), () => {
      assert.throws(() => parseCommandLine(argv), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.equal(err.name, "UsageError");
        assert.equal(err.message, message);
        return true;
      });
    });
  }
});

Deno.test("helpText lists the supported options, the subcommand and the permissions", async (t) => {
  const text = helpText();
  const expected = [
    /^deja: .*\nusage: deno run \[PERMISSIONS\] mod\.ts \[OPTIONS\]\n/,
    /\nStandard options:\n/,
    /\nBoot options:\n/,
    /\nDebug options:\n/,
    /\nRecord and replay:\n/,
    /\nSubcommands:\ndump FILE/,
    /\nDeno permissions:\n/,
    /--allow-read=FILE/,
    /--allow-write=FILE/,
    /--allow-net=127\.0\.0\.1:PORT/,
    /--allow-env=DEJA_DEBUG/,
    new RegExp(DEFAULT_BIOS_PATH.replaceAll(".", "\\.")),
  ];
  for (const pattern of expected) {
    await t.step(String(pattern), () => assert.match(text, pattern));
  }
  const options = [
    "-h",
    "-version",
    "-machine",
    "-cpu",
    "-smp",
    "-m",
    "-bios",
    "-kernel",
    "-append",
    "-initrd",
    "-dtb",
    "-no-reboot",
    "-nographic",
    "-display",
    "-serial",
    "-monitor",
    "-net",
    "-nic",
    "-device",
    "-plugin",
    "-S",
    "-s",
    "-gdb",
    "-icount",
  ];
  for (const option of options) {
    await t.step(`lists ${option}`, () => {
      assert.match(text, new RegExp(`(^|\\n|, )${option}\\b`));
    });
  }
  await t.step("lines fit in 80 columns", () => {
    for (const line of text.split("\n")) assert.ok(line.length <= 80, line);
  });
  await t.step("does not list unsupported options", () => {
    assert.doesNotMatch(text, /-enable-kvm/);
  });
  await t.step("lists -drive and the virtio devices", () => {
    assert.match(text, /-drive file=IMAGE,format=raw\|qcow2,if=none,id=ID/);
    assert.match(text, /driver=blkreplay,if=none,image=ID,id=ID2/);
    assert.match(text, /virtio-rng-device/);
    assert.match(text, /-netdev user,id=ID\[,tftp=DIR\]/);
  });
});

Deno.test("parseSize follows QEMU's size syntax", async (t) => {
  const cases: [string, bigint | undefined][] = [
    ["1", 1048576n],
    ["1b", 1n],
    ["2K", 2048n],
    ["3m", 3145728n],
    ["1G", 1073741824n],
    ["1T", 1n << 40n],
    ["1P", 1n << 50n],
    ["1E", 1n << 60n],
    ["0.5k", 512n],
    ["1.25M", 1310720n],
    ["0.3B", undefined],
    ["1.", undefined],
    [".5G", undefined],
    ["1MB", undefined],
    ["0x10", undefined],
    [" 1", undefined],
  ];
  for (const [text, bytes] of cases) {
    await t.step(
      JSON.stringify(text),
      () => assert.equal(parseSize(text), bytes),
    );
  }
});

Deno.test("gdbListenAddress defaults the host to 127.0.0.1", async (t) => {
  const cases: [string, string, number][] = [
    ["tcp::1234", "127.0.0.1", 1234],
    ["tcp:localhost:1", "localhost", 1],
    ["tcp:0.0.0.0:65535", "0.0.0.0", 65535],
    ["tcp:[::1]:2000", "[::1]", 2000],
  ];
  for (const [spec, hostname, port] of cases) {
    await t.step(spec, () => {
      assert.deepEqual(gdbListenAddress(spec), { hostname, port });
    });
  }
  for (const spec of ["tcp::0", "tcp:1234", "1234", "tcp::12,server=on"]) {
    await t.step(`rejects ${spec}`, () => {
      assert.throws(() => gdbListenAddress(spec), UsageError);
    });
  }
});

const bytes = (...values: (number | string)[]): Uint8Array =>
  new Uint8Array(
    values.flatMap((v) =>
      typeof v === "number" ? [v] : [...new TextEncoder().encode(v)]
    ),
  );

Deno.test("EscapeFilter handles QEMU's Ctrl-A escapes", async (t) => {
  const cases: {
    name: string;
    pushes: Uint8Array[];
    data: number[][];
    actions: string[][];
    notes?: number[];
  }[] = [
    {
      name: "plain text passes through",
      pushes: [bytes("ls\r")],
      data: [[...bytes("ls\r")]],
      actions: [[]],
    },
    {
      name: "C-a x quits",
      pushes: [bytes("a", 1, "x", "b")],
      data: [[...bytes("ab")]],
      actions: [["quit"]],
    },
    {
      name: "C-a h and C-a ? ask for help",
      pushes: [bytes(1, "h", 1, "?")],
      data: [[]],
      actions: [["help", "help"]],
    },
    {
      name: "C-a b sends a break",
      pushes: [bytes(1, "b")],
      data: [[]],
      actions: [["break"]],
    },
    {
      name: "C-a C-a sends one C-a",
      pushes: [bytes(1, 1, "z")],
      data: [[1, ...bytes("z")]],
      actions: [[]],
    },
    {
      name: "C-a C-a C-a x sends C-a and quits",
      pushes: [bytes(1, 1, 1, "x")],
      data: [[1]],
      actions: [["quit"]],
    },
    {
      name: "C-a c switches to the monitor",
      pushes: [bytes(1, "c", "q")],
      data: [[...bytes("q")]],
      actions: [["monitor"]],
    },
    {
      name: "C-a with another key passes both bytes",
      pushes: [bytes(1, "e", 1, 3)],
      data: [[1, ...bytes("e"), 1, 3]],
      actions: [[]],
    },
    {
      name: "C-a at the end of a push waits for the next",
      pushes: [bytes("ab", 1), bytes("x", "c")],
      data: [[...bytes("ab")], [...bytes("c")]],
      actions: [[], ["quit"]],
    },
    {
      name: "C-a C-a split across pushes",
      pushes: [bytes(1), bytes(1)],
      data: [[], [1]],
      actions: [[], []],
    },
    {
      name: "C-a then another key split across pushes",
      pushes: [bytes(1), bytes("a"), bytes("b")],
      data: [[], [1, ...bytes("a")], [...bytes("b")]],
      actions: [[], [], []],
    },
    {
      name: "C-a then an empty push keeps waiting",
      pushes: [bytes(1), bytes(), bytes("h")],
      data: [[], [], []],
      actions: [[], [], ["help"]],
    },
  ];
  for (const { name, pushes, data, actions, notes } of cases) {
    await t.step(name, () => {
      const filter = new EscapeFilter();
      pushes.forEach((push, i) => {
        const result = filter.push(push);
        assert.deepEqual([...result.data], data[i], `data of push ${i}`);
        assert.deepEqual(result.actions, actions[i], `actions of push ${i}`);
        assert.equal(result.notes.length, notes?.[i] ?? 0);
      });
    });
  }
  await t.step("pending tracks a waiting C-a", () => {
    const filter = new EscapeFilter();
    filter.push(bytes("a", 1));
    assert.equal(filter.pending, true);
    filter.push(bytes("x"));
    assert.equal(filter.pending, false);
  });
  await t.step("helpText lists the keys like QEMU", () => {
    const text = new EscapeFilter().helpText;
    assert.equal(text, EscapeFilter.helpText);
    assert.ok(text.startsWith("C-a h    print this help\r\n"));
    assert.ok(text.includes("C-a x    exit emulator\r\n"));
    assert.ok(text.endsWith("C-a C-a  sends C-a\r\n"));
    assert.doesNotMatch(text, /[^\r]\n/);
  });
});

Deno.test("withRawStdin sets raw mode only on a terminal and restores it", async (t) => {
  function fakeStdin(terminal: boolean) {
    const calls: [boolean, Deno.SetRawOptions | undefined][] = [];
    return {
      calls,
      isTerminal: () => terminal,
      setRaw(mode: boolean, options?: Deno.SetRawOptions) {
        calls.push([mode, options]);
      },
    };
  }
  await t.step("terminal", async () => {
    const stdin = fakeStdin(true);
    const result = await withRawStdin(() => {
      assert.deepEqual(stdin.calls, [[true, { cbreak: false }]]);
      return 42;
    }, { stdin });
    assert.equal(result, 42);
    assert.deepEqual(stdin.calls, [[true, { cbreak: false }], [
      false,
      undefined,
    ]]);
  });
  await t.step("terminal, when fn throws", async () => {
    const stdin = fakeStdin(true);
    await assert.rejects(
      withRawStdin(() => Promise.reject(new Error("boom")), { stdin }),
      /boom/,
    );
    assert.deepEqual(stdin.calls.map(([mode]) => mode), [true, false]);
  });
  await t.step("terminal, on unload", async () => {
    const stdin = fakeStdin(true);
    await withRawStdin(() => {
      globalThis.dispatchEvent(new Event("unload"));
      assert.deepEqual(stdin.calls.map(([mode]) => mode), [true, false]);
    }, { stdin });
    assert.deepEqual(stdin.calls.map(([mode]) => mode), [true, false]);
  });
  await t.step("not a terminal", async () => {
    const stdin = fakeStdin(false);
    assert.equal(
      await withRawStdin(() => Promise.resolve("ok"), { stdin }),
      "ok",
    );
    assert.deepEqual(stdin.calls, []);
  });
});

Deno.test("requiredPermissions lists what each option needs", async (t) => {
  const cases: [string[], RequiredPermission[]][] = [
    [[], [{
      name: "read",
      path: DEFAULT_BIOS_PATH,
      reason: "-bios default",
    }]],
    [["-bios", "none"], []],
    [["-bios", "fw_jump.elf", "-kernel", "./u-boot.bin"], [
      { name: "read", path: "fw_jump.elf", reason: "-bios" },
      { name: "read", path: "./u-boot.bin", reason: "-kernel" },
    ]],
    [[
      "-bios",
      "none",
      "-kernel",
      "Image",
      "-initrd",
      "rootfs.cpio",
      "-dtb",
      "virt.dtb",
    ], [
      { name: "read", path: "Image", reason: "-kernel" },
      { name: "read", path: "rootfs.cpio", reason: "-initrd" },
      { name: "read", path: "virt.dtb", reason: "-dtb" },
    ]],
    [["-bios", "x.bin", "-kernel", "x.bin"], [
      { name: "read", path: "x.bin", reason: "-bios, -kernel" },
    ]],
    [[
      "-bios",
      "none",
      "-plugin",
      "./trace.ts,out=t.log",
      "-plugin",
      "file:///opt/deja/p%20q.ts",
      "-plugin",
      "https://example.com:8443/p.ts",
      "-plugin",
      "jsr:@scope/plugin",
    ], [
      { name: "read", path: "./trace.ts", reason: "-plugin" },
      { name: "read", path: "/opt/deja/p q.ts", reason: "-plugin" },
      { name: "import", host: "example.com:8443", reason: "-plugin" },
    ]],
    [[
      "-bios",
      "none",
      "-device",
      "virtio-rng-device",
      "-device",
      "./devices/my_dev.ts,irq=3",
      "-device",
      "my_dev.js",
      "-device",
      "loader,file=blob.bin,addr=0x80000000",
    ], [
      { name: "read", path: "./devices/my_dev.ts", reason: "-device" },
      { name: "read", path: "my_dev.js", reason: "-device" },
      { name: "read", path: "blob.bin", reason: "-device loader" },
    ]],
    [["-bios", "none", "-icount", "rr=record,rrfile=r.bin"], [
      { name: "write", path: "r.bin", reason: "-icount rr=record" },
    ]],
    [["-bios", "none", "-icount", "rr=replay,rrfile=r.bin"], [
      { name: "read", path: "r.bin", reason: "-icount rr=replay" },
    ]],
    [["-bios", "none", "-serial", "file:out.log"], [
      { name: "write", path: "out.log", reason: "-serial" },
    ]],
    [["-bios", "none", "-s"], [
      { name: "net", host: "127.0.0.1:1234", reason: "-gdb" },
    ]],
    [["-bios", "none", "-gdb", "tcp:0.0.0.0:9000"], [
      { name: "net", host: "0.0.0.0:9000", reason: "-gdb" },
    ]],
  ];
  for (const [argv, expected] of cases) {
    await t.step(argv.join(" ") || "(defaults)", () => {
      assert.deepEqual(requiredPermissions(config(argv)), expected);
    });
  }
});

Deno.test("permissionFlags builds one quoted flag per permission name", async (t) => {
  const cases: [RequiredPermission[], string[]][] = [
    [[], []],
    [[
      { name: "net", host: "127.0.0.1:1234", reason: "-gdb" },
      { name: "read", path: "a", reason: "-bios" },
      { name: "write", path: "b", reason: "-serial" },
      { name: "read", path: "c", reason: "-kernel" },
    ], ["--allow-read=a,c", "--allow-write=b", "--allow-net=127.0.0.1:1234"]],
    [[{ name: "read", path: "my image.bin", reason: "-kernel" }], [
      "'--allow-read=my image.bin'",
    ]],
    [[{ name: "read", path: "it's", reason: "-kernel" }], [
      `'--allow-read=it'\\''s'`,
    ]],
    [[
      { name: "read", path: "a,b", reason: "-kernel" },
      { name: "read", path: "c", reason: "-bios" },
    ], ["--allow-read"]],
    [[{ name: "import", host: "example.com", reason: "-plugin" }], [
      "--allow-import=example.com",
    ]],
  ];
  for (const [permissions, flags] of cases) {
    await t.step(JSON.stringify(flags), () => {
      assert.deepEqual(permissionFlags(permissions), flags);
    });
  }
});

Deno.test("checkPermissions names every missing flag at once", async (t) => {
  await t.step("granted read passes", async () => {
    await checkPermissions(config(["-bios", "./u-boot.bin"]));
  });
  await t.step("missing write and net are listed together", async () => {
    await assert.rejects(
      checkPermissions(
        // An absolute path outside /tmp, the only place the tests may write.
        // The test task may grant net to 127.0.0.1 (lockstep talks to QEMU), so
        // the gdbstub listens on another loopback address here.
        config([
          "-bios",
          "none",
          "-serial",
          "file:/var/deja-serial.log",
          "-gdb",
          "tcp:127.0.0.2:1234",
        ]),
      ),
      (err: unknown) => {
        assert.ok(err instanceof PermissionError);
        assert.equal(err.name, "PermissionError");
        assert.equal(
          err.message,
          "Missing permissions: write access to /var/deja-serial.log and net access to 127.0.0.2:1234; add --allow-write=/var/deja-serial.log --allow-net=127.0.0.2:1234 to the deno run command",
        );
        assert.deepEqual(err.missing.map((p) => p.name), ["write", "net"]);
        return true;
      },
    );
  });
  await t.step("a custom query sees plain descriptors", async () => {
    const seen: Deno.PermissionDescriptor[] = [];
    await checkPermissions(
      config(["-bios", "fw.bin", "-gdb", "tcp::5000"]),
      {
        query: (descriptor) => {
          seen.push(descriptor);
          return Promise.resolve({ state: "granted" });
        },
      },
    );
    assert.deepEqual(seen, [
      { name: "read", path: "fw.bin" },
      { name: "net", host: "127.0.0.1:5000" },
    ]);
  });
  await t.step("three missing permissions", async () => {
    await assert.rejects(
      checkPermissions(
        config(["-bios", "a", "-kernel", "b", "-s"]),
        { query: () => Promise.resolve({ state: "prompt" }) },
      ),
      {
        name: "PermissionError",
        message:
          "Missing permissions: read access to a, read access to b and net access to 127.0.0.1:1234; add --allow-read=a,b --allow-net=127.0.0.1:1234 to the deno run command",
      },
    );
  });
});

Deno.test({
  name: "checkPermissions reports a missing read with the exact flag",
  permissions: { read: false },
  fn: async () => {
    await assert.rejects(
      checkPermissions(config(["-bios", "none", "-kernel", "./u-boot.bin"])),
      {
        name: "PermissionError",
        message:
          "Missing permission: read access to ./u-boot.bin; add --allow-read=./u-boot.bin to the deno run command",
      },
    );
  },
});

function capture(
  err: unknown,
  debug = false,
): { text: string; code: number } {
  let text = "";
  const code = printError(err, {
    write: (chunk) => text += chunk,
    setExitCode: false,
    debug,
  });
  return { text, code };
}

function denoError(run: () => unknown): Error {
  try {
    run();
  } catch (err) {
    return err as Error;
  }
  throw new Error("Expected an error");
}

Deno.test("printError prints the message, the cause chain and the exit code", async (t) => {
  const cases: [string, unknown, string, number][] = [
    [
      "usage error",
      new UsageError("Unknown option: -foo; run with --help"),
      "error: Unknown option: -foo; run with --help\n",
      2,
    ],
    [
      "permission error",
      new PermissionError([{ name: "read", path: "k", reason: "-kernel" }]),
      "error: Missing permission: read access to k; add --allow-read=k to the deno run command\n",
      1,
    ],
    [
      "cause chain",
      new Error("Cannot boot", {
        cause: new RangeError("Kernel is too big: 300M", {
          cause: "raw string",
        }),
      }),
      "error: Cannot boot\n  caused by: Kernel is too big: 300M\n  caused by: raw string\n",
      1,
    ],
    [
      "usage error wrapped in a cause",
      new Error("Cannot start", { cause: new UsageError("Bad") }),
      "error: Cannot start\n  caused by: Bad\n",
      1,
    ],
    ["non-error value", 42, "error: 42\n", 1],
    ["empty message", new TypeError(""), "error: TypeError\n", 1],
    [
      "NotFound",
      denoError(() => Deno.readFileSync("./no/such/file.bin")),
      "error: File not found: ./no/such/file.bin; check the path given on the command line\n",
      1,
    ],
    [
      "NotFound in a cause",
      new Error("Cannot load the kernel", {
        cause: denoError(() => Deno.statSync("/no/such")),
      }),
      "error: Cannot load the kernel\n  caused by: File not found: /no/such; check the path given on the command line\n",
      1,
    ],
    [
      "PermissionDenied",
      new Deno.errors.PermissionDenied(
        "Permission denied (os error 13): open '/root/k'",
      ),
      "error: Access denied by the operating system: /root/k; check the file's mode and owner\n",
      1,
    ],
    [
      "NotCapable",
      new Deno.errors.NotCapable(
        'Requires write access to "out.log", run again with the --allow-write flag',
      ),
      "error: Missing permission: write access to out.log; add --allow-write=out.log to the deno run command\n",
      1,
    ],
  ];
  for (const [name, err, text, code] of cases) {
    await t.step(name, () => {
      assert.deepEqual(capture(err), { text, code });
    });
  }
  await t.step("a cyclic cause chain ends", () => {
    const a = new Error("A");
    const b = new Error("B", { cause: a });
    a.cause = b;
    assert.equal(capture(a).text, "error: A\n  caused by: B\n");
  });
  await t.step("debug prints the stacks", () => {
    const err = new Error("Outer", { cause: new TypeError("Inner") });
    const { text } = capture(err, true);
    assert.match(
      text,
      /^error: Outer\n {2}caused by: Inner\n\nError: Outer\n {4}at /,
    );
    assert.match(text, /\n\nTypeError: Inner\n {4}at /);
  });
  await t.step("DEJA_DEBUG=1 turns on the stacks", () => {
    Deno.env.set("DEJA_DEBUG", "1");
    try {
      let text = "";
      printError(new RangeError("Oops"), {
        write: (chunk) => text += chunk,
        setExitCode: false,
      });
      assert.match(text, /\n\nRangeError: Oops\n {4}at /);
    } finally {
      Deno.env.delete("DEJA_DEBUG");
    }
    let text = "";
    printError(new RangeError("Oops"), {
      write: (chunk) => text += chunk,
      setExitCode: false,
    });
    assert.equal(text, "error: Oops\n");
  });
  await t.step("it sets Deno.exitCode by default", () => {
    const before = Deno.exitCode;
    try {
      printError(new UsageError("Bad"), { write: () => {} });
      assert.equal(Deno.exitCode, 2);
    } finally {
      Deno.exitCode = before;
    }
  });
});

Deno.test({
  name: "printError does not read DEJA_DEBUG without --allow-env",
  permissions: { env: false },
  fn: () => {
    let text = "";
    const code = printError(new Error("Plain"), {
      write: (chunk) => text += chunk,
      setExitCode: false,
    });
    assert.deepEqual({ text, code }, { text: "error: Plain\n", code: 1 });
  },
});
