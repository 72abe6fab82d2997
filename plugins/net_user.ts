/**
 * A small built-in user network (`-netdev user,id=N[,tftp=DIR]`), QEMU
 * slirp's addresses: the guest gets 10.0.2.15 by DHCP, the gateway is
 * 10.0.2.2 (MAC 52:55:0a:00:02:02) and answers ARP and ICMP echo, and a
 * read-only TFTP server on 10.0.2.2 port 69 serves the files of DIR.
 *
 * It answers each guest frame at once ({@linkcode NetBackend.transmit}), so
 * a run is a function of the guest and DIR; the answers are still recorded
 * as `NET_RX` inputs, and a replay turns the backend off and takes them from
 * the log.
 *
 * TCP port forwarding (`hostfwd=`): a host connection becomes a TCP
 * connection from 10.0.2.2 to a guest port ({@linkcode UserNetwork.hostConnect},
 * `hostData`, `hostClose`); what the guest sends on it goes to the host
 * through {@linkcode UserNetworkOptions.host}. The TCP is small: the
 * segments to the guest are at most 1460 bytes and 16 in flight within the
 * guest's window, and are never lost on the way (the card keeps frames until
 * the driver posts buffers), so nothing is retransmitted; segments from the
 * guest out of order are dropped and acknowledged at the expected sequence
 * number, so the guest sends them again.
 *
 * Left out: DNS, outbound traffic, UDP forwarding, TFTP options (a client
 * that asks for `blksize` gets 512-byte blocks, as RFC 1350 says).
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
  /**
   * Where forwarded connections' guest data goes (host I/O, asynchronous).
   *
   * @default {the data is dropped}
   */
  host?: ForwardHost;
}

/** The host end of forwarded TCP connections. */
export interface ForwardHost {
  /**
   * The guest sent bytes on connection `conn`.
   *
   * @param conn the connection's id
   * @param bytes the bytes, in order
   */
  data(conn: number, bytes: Uint8Array): void;
  /**
   * The guest closed connection `conn`: `reset` when it refused or aborted
   * it, else it finished sending (a FIN).
   *
   * @param conn the connection's id
   * @param reset whether it was a reset
   */
  close(conn: number, reset: boolean): void;
}

const TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_PSH = 8, TCP_ACK = 16;
const TCP_MSS = 1460;
const TCP_MAX_FLIGHT = 16 * TCP_MSS;

interface TcpConn {
  id: number;
  guestPort: number;
  port: number;
  iss: number;
  sndUna: number;
  sndNxt: number;
  rcvNxt: number;
  window: number;
  established: boolean;
  pending: Uint8Array;
  hostDone: boolean;
  finSent: boolean;
  guestDone: boolean;
}

/** Whether sequence number `a` comes after `b` (mod 2^32). */
function seqAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
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
  #host: ForwardHost | undefined;
  #conns = new Map<number, TcpConn>();
  #nextTcpPort = 40000;
  #guestMac = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

  /**
   * Make the network.
   *
   * @param options where TFTP files come from
   */
  constructor(options: UserNetworkOptions = {}) {
    this.#readFile = options.readFile ?? (() => undefined);
    this.#host = options.host;
  }

  /**
   * Take a frame from the guest and answer it.
   *
   * @param frame the Ethernet frame
   * @returns the answers
   */
  transmit(frame: Uint8Array): Uint8Array[] {
    if (frame.length < 14) return [];
    if (!(frame[6]! & 1)) this.#guestMac = frame.slice(6, 12);
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
    if (proto === 6 && dst === GATEWAY_IP && src === GUEST_IP) {
      return this.#tcpIn(body);
    }
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

  /**
   * A host connection was forwarded to guest port `guestPort`: open a TCP
   * connection to it from 10.0.2.2 (a SYN).
   *
   * @param conn the connection's id (the host end's)
   * @param guestPort the guest's port
   * @returns the frames for the guest
   */
  hostConnect(conn: number, guestPort: number): Uint8Array[] {
    const port = this.#nextTcpPort++;
    if (this.#nextTcpPort > 48999) this.#nextTcpPort = 40000;
    // Deterministic, and different for each connection.
    const iss = Math.imul(conn + 1, 0x9e3779b1) >>> 0;
    const c: TcpConn = {
      id: conn,
      guestPort,
      port,
      iss,
      sndUna: iss,
      sndNxt: (iss + 1) >>> 0,
      rcvNxt: 0,
      window: 0,
      established: false,
      pending: new Uint8Array(0),
      hostDone: false,
      finSent: false,
      guestDone: false,
    };
    this.#conns.set(conn, c);
    // SYN with the MSS option.
    return [this.#tcp(c, TCP_SYN, iss, new Uint8Array(0), [2, 4, 0x05, 0xb4])];
  }

  /**
   * The host sent bytes on a forwarded connection.
   *
   * @param conn the connection's id
   * @param bytes the bytes
   * @returns the frames for the guest
   */
  hostData(conn: number, bytes: Uint8Array): Uint8Array[] {
    const c = this.#conns.get(conn);
    if (!c || c.hostDone) return [];
    const all = new Uint8Array(c.pending.length + bytes.length);
    all.set(c.pending);
    all.set(bytes, c.pending.length);
    c.pending = all;
    return c.established ? this.#tcpFlush(c) : [];
  }

  /**
   * The host finished sending on a forwarded connection (a FIN follows
   * the data still to send).
   *
   * @param conn the connection's id
   * @returns the frames for the guest
   */
  hostClose(conn: number): Uint8Array[] {
    const c = this.#conns.get(conn);
    if (!c) return [];
    c.hostDone = true;
    return c.established ? this.#tcpFlush(c) : [];
  }

  /** The forwarded connections open. */
  get connections(): number {
    return this.#conns.size;
  }

  #tcpIn(body: Uint8Array): Uint8Array[] {
    if (body.length < 20) return [];
    const v = new DataView(body.buffer, body.byteOffset, body.length);
    const sport = v.getUint16(0), dport = v.getUint16(2);
    const seq = v.getUint32(4), ack = v.getUint32(8);
    const off = (body[12]! >> 4) * 4, flags = body[13]!;
    const window = v.getUint16(14);
    let c: TcpConn | undefined;
    for (const x of this.#conns.values()) {
      if (x.port === dport && x.guestPort === sport) c = x;
    }
    if (!c || off < 20 || off > body.length) return [];
    if (flags & TCP_RST) {
      this.#conns.delete(c.id);
      this.#host?.close(c.id, true);
      return [];
    }
    if (!c.established) {
      if ((flags & TCP_SYN) && (flags & TCP_ACK) && ack === c.sndNxt) {
        c.established = true;
        c.rcvNxt = (seq + 1) >>> 0;
        c.sndUna = ack;
        c.window = window;
        const out = this.#tcpFlush(c);
        return out.length ? out : [this.#tcpAck(c)];
      }
      return [];
    }
    if (flags & TCP_ACK) {
      if (seqAfter(ack, c.sndUna) && !seqAfter(ack, c.sndNxt)) c.sndUna = ack;
      if (ack === c.sndUna) c.window = window;
    }
    const data = body.subarray(off);
    let needAck = data.length > 0;
    if (data.length > 0 && seq === c.rcvNxt && !c.guestDone) {
      c.rcvNxt = (c.rcvNxt + data.length) >>> 0;
      this.#host?.data(c.id, data.slice());
    }
    if ((flags & TCP_FIN) && ((seq + data.length) >>> 0) === c.rcvNxt) {
      if (!c.guestDone) {
        c.guestDone = true;
        c.rcvNxt = (c.rcvNxt + 1) >>> 0;
        this.#host?.close(c.id, false);
      }
      needAck = true;
    }
    const out = this.#tcpFlush(c);
    if (needAck && out.length === 0) out.push(this.#tcpAck(c));
    if (c.guestDone && c.finSent && c.sndUna === c.sndNxt) {
      this.#conns.delete(c.id); // both sides closed, our FIN acknowledged
    }
    return out;
  }

  /** Send what the window allows, then the FIN once the host is done. */
  #tcpFlush(c: TcpConn): Uint8Array[] {
    const out: Uint8Array[] = [];
    const limit = Math.min(c.window, TCP_MAX_FLIGHT);
    while (c.pending.length > 0) {
      const flight = (c.sndNxt - c.sndUna) >>> 0;
      const n = Math.min(TCP_MSS, c.pending.length, limit - flight);
      if (n <= 0) break;
      const seg = c.pending.subarray(0, n);
      out.push(this.#tcp(c, TCP_ACK | TCP_PSH, c.sndNxt, seg));
      c.pending = c.pending.subarray(n);
      c.sndNxt = (c.sndNxt + n) >>> 0;
    }
    if (c.hostDone && c.pending.length === 0 && !c.finSent) {
      out.push(this.#tcp(c, TCP_ACK | TCP_FIN, c.sndNxt, new Uint8Array(0)));
      c.sndNxt = (c.sndNxt + 1) >>> 0;
      c.finSent = true;
    }
    return out;
  }

  #tcpAck(c: TcpConn): Uint8Array {
    return this.#tcp(c, TCP_ACK, c.sndNxt, new Uint8Array(0));
  }

  #tcp(
    c: TcpConn,
    flags: number,
    seq: number,
    data: Uint8Array,
    options: number[] = [],
  ): Uint8Array {
    const hl = 20 + options.length;
    const t = new Uint8Array(hl + data.length);
    const v = new DataView(t.buffer);
    v.setUint16(0, c.port);
    v.setUint16(2, c.guestPort);
    v.setUint32(4, seq);
    v.setUint32(8, flags & TCP_ACK ? c.rcvNxt : 0);
    t[12] = (hl / 4) << 4;
    t[13] = flags;
    v.setUint16(14, 65535);
    t.set(options, 20);
    t.set(data, hl);
    v.setUint16(16, transportChecksum(GATEWAY_IP, GUEST_IP, 6, t));
    return this.#ip(this.#guestMac, GATEWAY_IP, GUEST_IP, 6, t);
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
    v.setUint16(6, transportChecksum(src, dst, 17, u) || 0xffff);
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

/** The UDP or TCP checksum: over the pseudo-header and the segment. */
function transportChecksum(
  src: number,
  dst: number,
  proto: number,
  seg: Uint8Array,
): number {
  const pseudo = new Uint8Array(12 + seg.length);
  const pv = new DataView(pseudo.buffer);
  pv.setUint32(0, src);
  pv.setUint32(4, dst);
  pseudo[9] = proto;
  pv.setUint16(10, seg.length);
  pseudo.set(seg, 12);
  return checksum(pseudo, 0);
}

/** The Internet checksum (RFC 1071) of `b`. */
function checksum(b: Uint8Array, start: number): number {
  let sum = start;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
