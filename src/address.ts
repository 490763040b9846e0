// IP addresses as cluster.json gives them: parsed by hand into their bytes, so that two spellings of one address
// compare equal (::ffff:192.168.56.11, ::ffff:c0a8:380b and 192.168.56.11 are one address), and so that an address
// that cannot be an etcd member's (0.0.0.0, multicast, broadcast) is refused with the reason.
//
// Written here rather than taken from node:net: its isIP compiles one very large regular expression on first use,
// which alone cost a tenth of a clean `generate` run; and it cannot say which address a text stands for.

/** An address's 4 (IPv4) or 16 (IPv6) bytes. */
export interface Address {
  version: 4 | 6;
  bytes: number[];
}

/** The dotted quad of RFC 791 as everyone writes it: four decimal numbers 0–255, no leading zeros (as net.isIP). */
function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes.push(value);
  }
  return bytes;
}

/** RFC 4291 §2.2 text: eight groups of 1–4 hex digits, one `::` for a run of zero groups, an IPv4 tail allowed. */
function parseIpv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string, last: boolean): number[] | undefined => {
    if (half === '') return [];
    const parts = half.split(':');
    const groups: number[] = [];
    for (const [i, part] of parts.entries()) {
      if (last && i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (!v4) return undefined;
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) groups.push(parseInt(part, 16));
      else return undefined;
    }
    return groups;
  };
  const compressed = halves.length === 2;
  const head = groupsOf(halves[0] ?? '', !compressed);
  const tail = compressed ? groupsOf(halves[1] ?? '', true) : [];
  if (!head || !tail) return undefined;
  const explicit = head.length + tail.length;
  if (compressed ? explicit > 7 : explicit !== 8) return undefined;
  const groups = [...head, ...Array<number>(8 - explicit).fill(0), ...tail];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

export function parseIp(text: string): Address | undefined {
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    return bytes && { version: 6, bytes };
  }
  const bytes = parseIpv4(text);
  return bytes && { version: 4, bytes };
}

/** 4, 6, or 0 for text that is not an address: what net.isIP answers, without zone ids (a member has none). */
export function ipVersion(text: string): 0 | 4 | 6 {
  return parseIp(text)?.version ?? 0;
}

const isMapped = (b: readonly number[]) => b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

function ipv4Text(bytes: readonly number[]): string {
  return bytes.join('.');
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups (the first of equals) as `::`. */
function ipv6Text(bytes: readonly number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start === -1) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

/**
 * One text per address, to find two masters given the same one: IPv6 in RFC 5952 form, an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) as the IPv4 address it maps. Text that is not an address comes back unchanged.
 */
export function canonicalIp(text: string): string {
  const address = parseIp(text);
  if (!address) return text;
  if (address.version === 4) return ipv4Text(address.bytes);
  return isMapped(address.bytes) ? ipv4Text(address.bytes.slice(12)) : ipv6Text(address.bytes);
}

export function isLoopback(text: string): boolean {
  const address = parseIp(text);
  if (!address) return false;
  if (address.version === 4) return address.bytes[0] === 127;
  return address.bytes.slice(0, 15).every((x) => x === 0) && address.bytes[15] === 1;
}

/**
 * Why an address cannot be the one an etcd member listens on and advertises to its peers, or undefined when it can.
 * Each reason names what would be right.
 */
export function memberAddressProblem(text: string): string | undefined {
  const address = parseIp(text);
  if (!address) return undefined;
  const b = address.bytes;
  if (address.version === 4) {
    const a = b[0] ?? 0;
    if (b.every((x) => x === 0)) return 'is the unspecified address 0.0.0.0 ("any"), which no peer can connect to: give the address of the master\'s interface (e.g. 192.168.56.11)';
    if (a === 0) return `is in 0.0.0.0/8 ("this network"), which no peer can connect to: give the address of the master's interface`;
    if (b.every((x) => x === 255)) return 'is the broadcast address 255.255.255.255, not a host\'s: give the address of the master\'s interface';
    if (a >= 224 && a <= 239) return `is a multicast address (224.0.0.0/4), not a host's: give the address of the master's interface`;
    if (a >= 240) return `is in the reserved range 240.0.0.0/4, not a host's: give the address of the master's interface`;
    return undefined;
  }
  if (b.every((x) => x === 0)) return 'is the unspecified address :: ("any"), which no peer can connect to: give the address of the master\'s interface (e.g. fd00::11)';
  if (isMapped(b)) return `is an IPv4-mapped IPv6 address: write it as the IPv4 address ${ipv4Text(b.slice(12))}`;
  if (b.slice(0, 12).every((x) => x === 0) && !isLoopback(text)) return `is an IPv4-compatible IPv6 address (deprecated by RFC 4291): write it as the IPv4 address ${ipv4Text(b.slice(12))}`;
  if (b[0] === 0xff) return 'is a multicast address (ff00::/8), not a host\'s: give the address of the master\'s interface';
  if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return 'is a link-local address (fe80::/10), which needs a zone (%eth1) that a URL cannot carry: give a global or unique-local (fd00::/8) address';
  return undefined;
}
