/**
 * A small built-in user network (`-netdev user,id=N[,tftp=DIR]`), QEMU
 * slirp's addresses: the guest gets 10.0.2.15 by DHCP, the gateway is
 * 10.0.2.2 (MAC 52:55:0a:00:02:02) and answers ARP and ICMP echo, and a
 * read-only TFTP server on 10.0.2.2 port 69 serves the files of DIR.
 *
 * It answers each guest frame at once ({@linkcode NetBackend.transmit}), so
 * a run is a function of the guest and DIR; the answers are still recorded
 * as `NET_RX` inputs, and a replay turns the backend off and takes them from
 * the log. Left out: TCP, DNS, outbound traffic, TFTP options (a client that
 * asks for `blksize` gets 512-byte blocks, as RFC 1350 says).
 *
 * @module
 */

import type { NetBackend } from "../devices/virt.ts";

const GATEWAY_MAC = new Uint8Array([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** The gateway's address, 10.0.2.2. */
export const GATEWAY_IP = 0x0a000202;
/** The address the guest gets by DHCP, 10.0.2.15. */
export const GUEST_IP = 0x0a00020f;
const DNS_IP = 0x0a000203;
const NETMASK = 0xffffff00;
const TFTP_BLOCK = 512;

/** Options for {@linkcode UserNetwork}. */
export interface UserNetworkOptions {
  /**
   * Read a file for TFTP (a path relative to the TFTP directory, already
   * checked not to leave it); undefined if there is none.
   */
  readFile?: (name: string) => Uint8Array | undefined;
}

interface TftpSession {
  data: Uint8Array;
  clientPort: number;
  clientMac: Uint8Array;
  clientIp: number;
  serverPort: number;
  lastSent: number;
}

/**
 * Make the file reader of a TFTP directory (host I/O, synchronous).
 *
 * @param dir the directory
 * @returns the reader
 * @example
 * ```ts
 * import { tftpDirectory } from "./net_user.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a.txt`, "hi");
 * const read = tftpDirectory(dir);
 * console.log(read("a.txt")?.length, read("../etc/passwd")); // 2 undefined
 * ```
 */
export function tftpDirectory(
  dir: string,
): (name: string) => Uint8Array | undefined {
  return (name) => {
    const parts = name.replace(/^\/+/, "").split("/");
    if (parts.some((p) => p === ".." || p === "")) return undefined;
    try {
      return Deno.readFileSync(`${dir}/${parts.join("/")}`);
    } catch {
      return undefined;
    }
  };
}

/**
 * The user network.
 *
 * @example Answer an ARP request for the gateway
 * ```ts
 * import { UserNetwork } from "./net_user.ts";
 * const net = new UserNetwork();
 * const f = new Uint8Array(42);
 * f.fill(0xff, 0, 6); f.set([0x52, 0x54, 0, 0x12, 0x34, 0x56], 6);
 * f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
 * f.set([0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15], 22);
 * f.set([10, 0, 2, 2], 38);
 * const [reply] = net.transmit(f);
 * console.log(reply![21]); // 2 (an ARP reply)
 * ```
 */
export class UserNetwork implements NetBackend {
  #readFile: (name: string) => Uint8Array | undefined;
  #sessions = new Map<number, TftpSession>();
  #nextPort = 49152;
  #ipId = 1;

  /**
   * Make the network.
   *
   * @param options where TFTP files come from
   */
  constructor(options: UserNetworkOptions = {}) {
    this.#readFile = options.readFile ?? (() => undefined);
  }

  /**
   * Take a frame from the guest and answer it.
   *
   * @param frame the Ethernet frame
   * @returns the answers
   */
  transmit(frame: Uint8Array): Uint8Array[] {
    if (frame.length < 14) return [];
    const v = new DataView(frame.buffer, frame.byteOffset, frame.length);
    const type = v.getUint16(12);
    if (type === 0x0806) return this.#arp(frame, v);
    if (type === 0x0800) return this.#ipv4(frame, v);
    return [];
  }

  #arp(f: Uint8Array, v: DataView): Uint8Array[] {
    if (f.length < 42 || v.getUint16(20) !== 1) return [];
    const tpa = v.getUint32(38);
    if (tpa !== GATEWAY_IP && tpa !== DNS_IP) return [];
    const out = new Uint8Array(42);
    const o = new DataView(out.buffer);
    out.set(f.subarray(6, 12), 0);
    out.set(GATEWAY_MAC, 6);
    o.setUint16(12, 0x0806);
    o.setUint16(14, 1);
    o.setUint16(16, 0x0800);
    out[18] = 6;
    out[19] = 4;
    o.setUint16(20, 2);
    out.set(GATEWAY_MAC, 22);
    o.setUint32(28, tpa);
    out.set(f.subarray(22, 28), 32);
    out.set(f.subarray(28, 32), 38);
    return [out];
  }

  #ipv4(f: Uint8Array, v: DataView): Uint8Array[] {
    if (f.length < 34 || f[14]! >> 4 !== 4) return [];
    const ihl = (f[14]! & 15) * 4;
    const total = v.getUint16(16);
    if (ihl < 20 || 14 + total > f.length || total < ihl) return [];
    const proto = f[23]!;
    const src = v.getUint32(26), dst = v.getUint32(30);
    const body = f.subarray(14 + ihl, 14 + total);
    const mac = f.subarray(6, 12);
    if (proto === 1 && dst === GATEWAY_IP) return this.#icmp(mac, src, body);
    if (proto !== 17 || body.length < 8) return [];
    const b = new DataView(body.buffer, body.byteOffset, body.length);
    const sport = b.getUint16(0), dport = b.getUint16(2);
    const data = body.subarray(8, Math.min(body.length, b.getUint16(4)));
    if (dport === 67) return this.#dhcp(data);
    if (dst !== GATEWAY_IP) return [];
    if (dport === 69) return this.#tftpRequest(mac, src, sport, data);
    const s = this.#sessions.get(dport);
    if (s && sport === s.clientPort) return this.#tftpAck(s, data);
    return [];
  }

  #icmp(mac: Uint8Array, src: number, body: Uint8Array): Uint8Array[] {
    if (body.length < 8 || body[0] !== 8) return [];
    const reply = body.slice();
    reply[0] = 0;
    reply[2] = reply[3] = 0;
    const sum = checksum(reply, 0);
    reply[2] = sum >> 8;
    reply[3] = sum & 0xff;
    return [this.#ip(mac, GATEWAY_IP, src, 1, reply)];
  }

  #dhcp(d: Uint8Array): Uint8Array[] {
    if (d.length < 240 || d[0] !== 1) return [];
    const v = new DataView(d.buffer, d.byteOffset, d.length);
    if (v.getUint32(236) !== 0x63825363) return [];
    let type = 0;
    for (let i = 240; i < d.length;) {
      const code = d[i]!;
      if (code === 255) break;
      if (code === 0) {
        i++;
        continue;
      }
      const len = d[i + 1] ?? 0;
      if (code === 53 && len >= 1) type = d[i + 2]!;
      i += 2 + len;
    }
    const replyType = type === 1 ? 2 : type === 3 ? 5 : 0;
    if (!replyType) return [];
    const out = new Uint8Array(300);
    const o = new DataView(out.buffer);
    out[0] = 2;
    out[1] = 1;
    out[2] = 6;
    out.set(d.subarray(4, 8), 4); // xid
    o.setUint32(16, GUEST_IP);
    o.setUint32(20, GATEWAY_IP);
    out.set(d.subarray(28, 44), 28); // chaddr
    o.setUint32(236, 0x63825363);
    const opts: number[] = [53, 1, replyType];
    const ip = (code: number, a: number) =>
      opts.push(code, 4, a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255);
    ip(54, GATEWAY_IP);
    ip(51, 86400);
    ip(1, NETMASK);
    ip(3, GATEWAY_IP);
    ip(6, DNS_IP);
    opts.push(255);
    out.set(opts, 240);
    return [
      this.#udp(BROADCAST, GATEWAY_IP, 0xffffffff, 67, 68, out),
    ];
  }

  #tftpRequest(
    mac: Uint8Array,
    ip: number,
    port: number,
    d: Uint8Array,
  ): Uint8Array[] {
    if (d.length < 4 || d[0] !== 0 || d[1] !== 1) return [];
    const end = d.indexOf(0, 2);
    if (end < 0) return [];
    const name = new TextDecoder().decode(d.subarray(2, end));
    const serverPort = this.#nextPort++;
    if (this.#nextPort > 65535) this.#nextPort = 49152;
    const data = this.#readFile(name);
    if (!data) {
      const msg = new TextEncoder().encode(`File not found: ${name}`);
      const err = new Uint8Array(5 + msg.length);
      err.set([0, 5, 0, 1]);
      err.set(msg, 4);
      return [this.#udp(mac, GATEWAY_IP, ip, serverPort, port, err)];
    }
    for (const [p, s] of this.#sessions) {
      if (s.clientPort === port) this.#sessions.delete(p);
    }
    const s: TftpSession = {
      data,
      clientPort: port,
      clientMac: mac.slice(),
      clientIp: ip,
      serverPort,
      lastSent: 0,
    };
    this.#sessions.set(serverPort, s);
    return [this.#tftpData(s, 1)];
  }

  #tftpAck(s: TftpSession, d: Uint8Array): Uint8Array[] {
    if (d.length < 4 || d[0] !== 0 || d[1] !== 4) return [];
    const block = (d[2]! << 8) | d[3]!;
    if (block !== (s.lastSent & 0xffff)) return [];
    if (s.lastSent * TFTP_BLOCK > s.data.length) {
      this.#sessions.delete(s.serverPort); // the last block was acknowledged
      return [];
    }
    return [this.#tftpData(s, s.lastSent + 1)];
  }

  #tftpData(s: TftpSession, block: number): Uint8Array {
    const from = (block - 1) * TFTP_BLOCK;
    const chunk = s.data.subarray(
      from,
      Math.min(from + TFTP_BLOCK, s.data.length),
    );
    const out = new Uint8Array(4 + chunk.length);
    out[1] = 3;
    out[2] = (block >> 8) & 0xff;
    out[3] = block & 0xff;
    out.set(chunk, 4);
    s.lastSent = block;
    return this.#udp(
      s.clientMac,
      GATEWAY_IP,
      s.clientIp,
      s.serverPort,
      s.clientPort,
      out,
    );
  }

  #udp(
    mac: Uint8Array,
    src: number,
    dst: number,
    sport: number,
    dport: number,
    data: Uint8Array,
  ): Uint8Array {
    const u = new Uint8Array(8 + data.length);
    const v = new DataView(u.buffer);
    v.setUint16(0, sport);
    v.setUint16(2, dport);
    v.setUint16(4, u.length);
    u.set(data, 8);
    // The checksum over the pseudo-header and the datagram.
    const pseudo = new Uint8Array(12 + u.length);
    const pv = new DataView(pseudo.buffer);
    pv.setUint32(0, src);
    pv.setUint32(4, dst);
    pseudo[9] = 17;
    pv.setUint16(10, u.length);
    pseudo.set(u, 12);
    const sum = checksum(pseudo, 0) || 0xffff;
    v.setUint16(6, sum);
    return this.#ip(mac, src, dst, 17, u);
  }

  #ip(
    mac: Uint8Array,
    src: number,
    dst: number,
    proto: number,
    body: Uint8Array,
  ): Uint8Array {
    const out = new Uint8Array(14 + 20 + body.length);
    const v = new DataView(out.buffer);
    out.set(mac, 0);
    out.set(GATEWAY_MAC, 6);
    v.setUint16(12, 0x0800);
    out[14] = 0x45;
    v.setUint16(16, 20 + body.length);
    v.setUint16(18, this.#ipId++ & 0xffff);
    out[22] = 64;
    out[23] = proto;
    v.setUint32(26, src);
    v.setUint32(30, dst);
    v.setUint16(24, checksum(out.subarray(14, 34), 0));
    out.set(body, 34);
    return out;
  }
}

/** The Internet checksum (RFC 1071) of `b`. */
function checksum(b: Uint8Array, start: number): number {
  let sum = start;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
