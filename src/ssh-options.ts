// Which ssh options cluster.json may pass to every ssh call without a second thought, and what the others do.
//
// An ssh option can make ssh run a program on the operator's machine (ProxyCommand, LocalCommand with
// PermitLocalCommand, KnownHostsCommand, …) or stop it checking host keys (StrictHostKeyChecking=no). A reviewer
// approving a one-line change to cluster.json must not be approving either without seeing it. So only a short
// list of options known to be harmless is taken in `transport.options`; anything else, under any spelling, must
// stand in `transport.unsafeOptions`, and every script names those in its header.
//
// ssh reads option names case-insensitively and takes `Option=value`, `Option value` and `Option = value` alike;
// values of the options here are matched case-insensitively too, as ssh does.
import type { Cluster } from './cluster.generated.js';

/** An option that needs no opt-in: its name as ssh documents it, and the values that keep it harmless. */
interface SafeOption {
  name: string;
  /** The values allowed, as one anchored, case-insensitive pattern. */
  values: RegExp;
  /** What the values are, for a message. */
  valuesText: string;
}

const count = { values: /^[0-9]{1,5}$/, valuesText: 'a whole number' };
const yesNo = { values: /^(yes|no)$/i, valuesText: 'yes or no' };

/**
 * The safe list. Timeouts, keep-alives and retries only change when ssh gives up; Compression, IdentitiesOnly,
 * LogLevel and AddressFamily change nothing about what runs or whom ssh trusts. StrictHostKeyChecking may only be
 * made stricter than ssh's default for a script (yes), or accept a host seen for the first time (accept-new), which
 * still refuses a changed key. UserKnownHostsFile may only name a file called known_hosts… (a project's own `keys/known_hosts`
 * included): with accept-new, ssh appends a line to it, and a line appended to a shell start-up file would run;
 * /dev/null would accept any key. No `..` (the name must be what it says) and no % or $ (ssh expands both).
 */
export const SAFE_SSH_OPTIONS: readonly SafeOption[] = [
  { name: 'ConnectTimeout', ...count },
  { name: 'ConnectionAttempts', ...count },
  { name: 'ServerAliveInterval', ...count },
  { name: 'ServerAliveCountMax', ...count },
  { name: 'TCPKeepAlive', ...yesNo },
  { name: 'Compression', ...yesNo },
  { name: 'IdentitiesOnly', ...yesNo },
  { name: 'LogLevel', values: /^(QUIET|FATAL|ERROR|INFO|VERBOSE|DEBUG|DEBUG1|DEBUG2|DEBUG3)$/i, valuesText: 'QUIET, FATAL, ERROR, INFO, VERBOSE or DEBUG' },
  { name: 'AddressFamily', values: /^(any|inet|inet6)$/i, valuesText: 'any, inet or inet6' },
  { name: 'StrictHostKeyChecking', values: /^(yes|accept-new)$/i, valuesText: 'yes or accept-new' },
  { name: 'UserKnownHostsFile', values: /^(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._~\/-]*(^|\/)known_hosts[A-Za-z0-9._-]*$/, valuesText: 'a file named known_hosts…, such as ~/.ssh/known_hosts or keys/known_hosts' },
];

/** What the options that are not harmless do, for the error message: the worst first. */
const RUNS_COMMANDS = ['proxycommand', 'localcommand', 'permitlocalcommand', 'knownhostscommand', 'proxyusefdpass', 'match'];

/** `Option=value`, `Option value` or `Option = value`, as ssh -o reads it; undefined when it is none of them. */
export function parseSshOption(text: string): { name: string; value: string } | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*?)\s*$/.exec(text);
  return match ? { name: match[1]!, value: match[2]! } : undefined;
}

/** Why an option in `transport.options` needs the opt-in, or undefined when it is on the safe list. */
export function unsafeReason(text: string): string | undefined {
  const option = parseSshOption(text);
  if (!option) return 'is not an ssh option as ssh -o takes it (Option=value)';
  const lower = option.name.toLowerCase();
  const safe = SAFE_SSH_OPTIONS.find((o) => o.name.toLowerCase() === lower);
  if (safe) {
    if (safe.values.test(option.value)) return undefined;
    if (lower === 'stricthostkeychecking') return `switches host-key checking off or to a prompt a script cannot answer (the safe values: ${safe.valuesText})`;
    if (lower === 'userknownhostsfile') return `names a known-hosts file ssh may write to or read nothing from (the safe values: ${safe.valuesText})`;
    return `has a value outside the safe ones (${safe.valuesText})`;
  }
  if (RUNS_COMMANDS.includes(lower)) return 'makes ssh run commands on this machine';
  return `is not on the list of ssh options known to be harmless (${SAFE_SSH_OPTIONS.map((o) => o.name).join(', ')})`;
}

/**
 * The lines each script's header carries about how it connects: which ssh options it passes, with the unsafe ones
 * named loudly. Plain text; each template puts it in its own comment syntax.
 */
export function connectionHeader(transport: Cluster['transport']): string[] {
  if (transport.kind !== 'ssh') return ['Connects with: vagrant ssh NODE (vagrant chooses the ssh options; cluster.json passes none).'];
  const options = transport.options.length ? transport.options.join(' ') : 'none';
  const lines = [`Connects with: ssh, options -o BatchMode=yes, and from transport.options in cluster.json: ${options}.`];
  if (transport.unsafeOptions.length) {
    lines.push(
      `UNSAFE ssh options, from transport.unsafeOptions in cluster.json: ${transport.unsafeOptions.join(' ')}.`,
      'They can make ssh run commands on this machine, or weaken host-key checking: review them as code.',
    );
  }
  return lines;
}
