// examples/: every example cluster's out/ is committed and current, and the IPv6 example puts brackets where URLs
// need them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from './support/fixtures.js';
import { examples, read, repoRoot } from './support/examples.js';

interface ExampleMaster {
  name: string;
  ip: string;
  host: string;
}
interface ExampleCluster {
  masters: ExampleMaster[];
  workers?: { name: string }[];
  etcd?: { peerPort?: number; clientPort?: number; localListener?: { address?: string } };
}

const all = examples();
const byName = (name: string) => {
  const found = all.find((e) => e.name === name);
  if (!found) throw new Error(`no example ${name}; found ${all.map((e) => e.name).join(', ')}`);
  return found;
};
const clusterOf = (name: string) => JSON.parse(read(byName(name).config)) as ExampleCluster;

/** The env of the etcd container in a manifest, by variable name. */
function envOf(manifestPath: string): Map<string, unknown> {
  const pod = parse(read(manifestPath)) as { spec: { containers: { env: { name: string; value: unknown }[] }[] } };
  const container = pod.spec.containers[0];
  if (!container) throw new Error(`${manifestPath} has no container`);
  return new Map(container.env.map((e) => [e.name, e.value]));
}

/** The URLs in an ETCD_* value: a comma-separated list of URLs, or of NAME=URL pairs (ETCD_INITIAL_CLUSTER). */
function urlsIn(value: string): string[] {
  return value.split(',').map((part) => (/^[a-z0-9-]+=/.test(part) ? part.slice(part.indexOf('=') + 1) : part));
}

const URL_VARIABLES = [
  'ETCD_INITIAL_ADVERTISE_PEER_URLS',
  'ETCD_ADVERTISE_CLIENT_URLS',
  'ETCD_LISTEN_PEER_URLS',
  'ETCD_LISTEN_CLIENT_URLS',
  'ETCD_INITIAL_CLUSTER',
];

/** A host as RFC 3986 puts it in a URL: an IPv6 literal in brackets, anything else bare. */
const inUrl = (host: string) => (isIP(host) === 6 ? `[${host}]` : host);

test('examples/ holds the five-masters, ipv6 and kubeadm clusters, each with a committed out/', () => {
  const names = all.map((e) => e.name);
  for (const name of ['cluster.json', 'examples/five-masters', 'examples/ipv6', 'examples/kubeadm']) {
    assert.ok(names.includes(name), `expected example ${name}; found ${names.join(', ')}`);
  }
  for (const example of all) {
    assert.ok(existsSync(example.out), `expected ${example.name}'s out/ at ${example.out}: run node dist/src/cli.js generate --config ${example.config}`);
  }
});

for (const example of examples()) {
  test(`${example.name}: generate --check passes, so its committed out/ is exactly what cluster.json generates`, () => {
    const run = runCli(['generate', '--config', example.config, '--check']);
    assert.is(
      run.code,
      0,
      `expected exit 0 from generate --check --config ${example.config}; got ${run.code} with:\n${run.err.join('\n')}\n` +
        `(regenerate with: node dist/src/cli.js generate --config ${example.config.slice(repoRoot.length)})`,
    );
  });

  test(`${example.name}: cluster.json loads without a single warning but the plain-HTTP listener's, where it is on`, () => {
    const run = runCli(['generate', '--config', example.config, '--check']);
    // The tutorial's plain-HTTP loopback listener is warned about on purpose (issue 13): the tutorial's clusters keep it.
    const warnings = run.err.filter((line) => line.includes('warning:') && !line.includes('/etcd/localListener/enabled  warning: etcd serves http://'));
    assert.equal(warnings, [], `expected no warnings for ${example.name}; got:\n${warnings.join('\n')}`);
  });

  test(`${example.name}: out/ holds README.md, certs.sh, kube-apiserver-etcd.yaml, ntp.sh, preflight.sh, distribute.sh, members.sh, verify.sh, backup.sh, restore.sh, the library they source (lib.sh), the backup timer and its service, one manifest per master and the record of them (.etcd-bootstrap.json), nothing else`, () => {
    const cluster = JSON.parse(read(example.config)) as ExampleCluster;
    const expected = [
      '.etcd-bootstrap.json',
      'README.md',
      'backup.sh',
      'certs.sh',
      'distribute.sh',
      'etcd-backup.service',
      'etcd-backup.timer',
      'kube-apiserver-etcd.yaml',
      'lib.sh',
      ...cluster.masters.map((m) => `${m.name}-etcd.manifest`),
      'members.sh',
      'ntp.sh',
      'preflight.sh',
      'restore.sh',
      'verify.sh',
    ].sort();
    assert.equal(readdirSync(example.out).sort(), expected, `files in ${example.out}`);
  });
}

test('five-masters: five members in every manifest\'s ETCD_INITIAL_CLUSTER, and ntp.sh reaches masters and workers', () => {
  const example = byName('examples/five-masters');
  const cluster = clusterOf('examples/five-masters');
  assert.is(cluster.masters.length, 5, 'the example has five masters');
  assert.ok((cluster.workers ?? []).length > 0, 'the example has workers');
  const expectedInitial = cluster.masters.map((m) => `${m.name}=https://${m.host}:2380`).join(',');
  for (const master of cluster.masters) {
    const env = envOf(join(example.out, `${master.name}-etcd.manifest`));
    assert.is(env.get('ETCD_INITIAL_CLUSTER'), expectedInitial, `${master.name}: ETCD_INITIAL_CLUSTER`);
    assert.is(env.get('ETCD_NAME'), master.name, `${master.name}: ETCD_NAME`);
  }
  const ntp = read(join(example.out, 'ntp.sh'));
  const nodes = [...cluster.masters, ...(cluster.workers ?? [])].map((n) => n.name).join(' ');
  assert.ok(ntp.includes(`select_hosts ${nodes}\n`), `expected ntp.sh to work on every node: select_hosts ${nodes}; ntp.sh is:\n${ntp}`);
});

test('ipv6: the example really is IPv6: IPv6 ips, at least one IPv6-literal host and one DNS host, loopback ::1', () => {
  const cluster = clusterOf('examples/ipv6');
  assert.ok(cluster.masters.every((m) => isIP(m.ip) === 6), `every ip is IPv6: ${cluster.masters.map((m) => m.ip).join(', ')}`);
  assert.ok(cluster.masters.some((m) => isIP(m.host) === 6), 'at least one host is an IPv6 literal, so URLs need brackets');
  assert.ok(cluster.masters.some((m) => isIP(m.host) === 0), 'at least one host is a DNS name, which must stay unbracketed');
  assert.is(cluster.etcd?.localListener?.address, '::1');
});

test('ipv6: every URL in every manifest has its IPv6 host in brackets and parses as a URL', () => {
  const example = byName('examples/ipv6');
  const cluster = clusterOf('examples/ipv6');
  for (const master of cluster.masters) {
    const file = join(example.out, `${master.name}-etcd.manifest`);
    const env = envOf(file);
    for (const variable of URL_VARIABLES) {
      const value = env.get(variable);
      assert.type(value, 'string', `${master.name}: ${variable} is a string`);
      for (const url of urlsIn(value as string)) {
        const parts = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(url);
        assert.ok(parts, `${master.name}: ${variable}: expected scheme://HOST:PORT with an IPv6 HOST in brackets; got ${JSON.stringify(url)} in ${JSON.stringify(value)}`);
        const host = (parts[2] as string).replace(/^\[(.*)\]$/, '$1');
        if (parts[2]?.startsWith('[')) assert.is(isIP(host), 6, `${master.name}: ${variable}: only IPv6 literals are bracketed (${url})`);
        let parsed: URL | undefined;
        try {
          parsed = new URL(url);
        } catch {
          parsed = undefined;
        }
        assert.ok(parsed, `${master.name}: ${variable}: ${JSON.stringify(url)} must parse as a URL`);
        assert.is(parsed.port, parts[3], `${master.name}: ${variable}: port of ${url}`);
      }
    }
  }
});

test('ipv6: peer and client URLs are built from ip and host with brackets; ETCD_LISTEN_CLIENT_URLS ends with http://[::1]:2379', () => {
  const example = byName('examples/ipv6');
  const cluster = clusterOf('examples/ipv6');
  const initial = cluster.masters.map((m) => `${m.name}=https://${inUrl(m.host)}:2380`).join(',');
  for (const master of cluster.masters) {
    const env = envOf(join(example.out, `${master.name}-etcd.manifest`));
    const expected: Record<string, string> = {
      ETCD_INITIAL_ADVERTISE_PEER_URLS: `https://${inUrl(master.host)}:2380`,
      ETCD_ADVERTISE_CLIENT_URLS: `https://${inUrl(master.host)}:2379`,
      ETCD_LISTEN_PEER_URLS: `https://[${master.ip}]:2380`,
      ETCD_LISTEN_CLIENT_URLS: `https://[${master.ip}]:2379,http://[::1]:2379`,
      ETCD_INITIAL_CLUSTER: initial,
    };
    for (const [variable, value] of Object.entries(expected)) {
      assert.is(env.get(variable), value, `${master.name}: expected ${variable}=${value}; got ${String(env.get(variable))}`);
    }
  }
});

test('ipv6: the liveness probe opens ::1 bare (a tcpSocket host is not a URL, so no brackets)', () => {
  const example = byName('examples/ipv6');
  for (const master of clusterOf('examples/ipv6').masters) {
    const pod = parse(read(join(example.out, `${master.name}-etcd.manifest`))) as {
      spec: { containers: { livenessProbe: { tcpSocket: { host: string; port: number } } }[] };
    };
    const probe = pod.spec.containers[0]?.livenessProbe.tcpSocket;
    assert.equal(probe, { host: '::1', port: 2379 }, `${master.name}: livenessProbe.tcpSocket`);
  }
});

test('ipv6: verify.sh expects every member at its bracketed peer and client URLs', () => {
  const example = byName('examples/ipv6');
  const cluster = clusterOf('examples/ipv6');
  // The peer and client URLs verify.sh checks are the library's (lib.sh), which it sources.
  const library = read(join(example.out, 'lib.sh'));
  const peerUrls = /^peer_urls=\((.*)\)$/m.exec(library)?.[1] ?? '';
  const clientUrls = /^all_client_urls=(.*)$/m.exec(library)?.[1] ?? '';
  for (const master of cluster.masters) {
    assert.ok(peerUrls.includes(`https://${inUrl(master.host)}:2380`), `expected lib.sh's peer_urls, which verify.sh checks, to name ${master.name}'s bracketed peer URL: ${peerUrls}`);
    assert.ok(clientUrls.includes(`https://${inUrl(master.host)}:2379`), `expected lib.sh's all_client_urls, which verify.sh checks, to name ${master.name}'s bracketed client URL: ${clientUrls}`);
  }
});

test.run();
