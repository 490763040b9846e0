// What a generated manifest must say about its master, read back through a YAML parser.
import { parseDocument } from 'yaml';
import { isIP } from 'node:net';
import type { Cluster } from '../../src/cluster.generated.js';
import type { RenderedFile } from '../../src/render.js';
import { etcdImage } from '../../src/etcd-profile.js';

interface PodLike {
  spec: {
    containers: { image: string; env: { name: string; value: unknown }[]; volumeMounts: { mountPath: string; name: string }[] }[];
    volumes: { name: string; hostPath: { path: string } }[];
  };
}

function bracketed(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/**
 * Every difference between what cluster.json says and what the manifests say, in words; empty when they agree.
 * Each manifest must parse with no warning and no duplicate key.
 */
export function manifestDisagreements(cluster: Cluster, files: readonly RenderedFile[]): string[] {
  const problems: string[] = [];
  const expect = (what: string, actual: unknown, wanted: unknown) => {
    if (actual !== wanted) problems.push(`${what}: manifest says ${JSON.stringify(actual)}, cluster.json says ${JSON.stringify(wanted)}`);
  };
  const { etcd } = cluster;
  const initial = cluster.masters.map((m) => `${m.name}=https://${bracketed(m.host)}:${etcd.peerPort}`).join(',');
  for (const master of cluster.masters) {
    const file = files.find((f) => f.path === `${master.name}-etcd.manifest`);
    if (!file) {
      problems.push(`no manifest for ${master.name}`);
      continue;
    }
    const document = parseDocument(file.content, { uniqueKeys: true });
    if (document.errors.length || document.warnings.length) {
      problems.push(`${file.path} does not parse cleanly: ${[...document.errors, ...document.warnings].map((e) => e.message).join('; ')}`);
      continue;
    }
    const pod = document.toJS() as PodLike;
    const container = pod.spec.containers[0];
    if (!container) {
      problems.push(`${file.path} has no container`);
      continue;
    }
    const env = new Map(container.env.map((e) => [e.name, e.value]));
    for (const [name, value] of env) if (typeof value !== 'string') problems.push(`${file.path}: ${name} is a ${typeof value}, not a string`);
    const at = `${file.path}`;
    expect(`${at} image`, container.image, etcdImage(etcd));
    expect(`${at} ETCD_NAME`, env.get('ETCD_NAME'), master.name);
    expect(`${at} ETCD_INITIAL_CLUSTER_TOKEN`, env.get('ETCD_INITIAL_CLUSTER_TOKEN'), etcd.clusterToken);
    expect(`${at} ETCD_DATA_DIR`, env.get('ETCD_DATA_DIR'), etcd.dataDir);
    expect(`${at} ETCD_INITIAL_CLUSTER`, env.get('ETCD_INITIAL_CLUSTER'), initial);
    expect(`${at} ETCD_INITIAL_ADVERTISE_PEER_URLS`, env.get('ETCD_INITIAL_ADVERTISE_PEER_URLS'), `https://${bracketed(master.host)}:${etcd.peerPort}`);
    expect(`${at} ETCD_ADVERTISE_CLIENT_URLS`, env.get('ETCD_ADVERTISE_CLIENT_URLS'), `https://${bracketed(master.host)}:${etcd.clientPort}`);
    expect(`${at} ETCD_LISTEN_PEER_URLS`, env.get('ETCD_LISTEN_PEER_URLS'), `https://${bracketed(master.ip)}:${etcd.peerPort}`);
    const local = etcd.localListener.enabled ? `,http://${bracketed(etcd.localListener.address)}:${etcd.localListener.port ?? etcd.clientPort}` : '';
    expect(`${at} ETCD_LISTEN_CLIENT_URLS`, env.get('ETCD_LISTEN_CLIENT_URLS'), `https://${bracketed(master.ip)}:${etcd.clientPort}${local}`);
    const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
    expect(`${at} ETCD_TRUSTED_CA_FILE`, env.get('ETCD_TRUSTED_CA_FILE'), `${etcd.certDir}/${base(cluster.tls.ca ?? 'ca.pem')}`);
    expect(`${at} ETCD_CERT_FILE`, env.get('ETCD_CERT_FILE'), `${etcd.certDir}/${base(cluster.tls.cert)}`);
    expect(`${at} ETCD_KEY_FILE`, env.get('ETCD_KEY_FILE'), `${etcd.certDir}/${base(cluster.tls.key)}`);
    const volume = (name: string) => pod.spec.volumes.find((v) => v.name === name)?.hostPath.path;
    const mount = (name: string) => container.volumeMounts.find((v) => v.name === name)?.mountPath;
    expect(`${at} volume etc-etcd`, volume('etc-etcd'), etcd.certDir);
    expect(`${at} mount etc-etcd`, mount('etc-etcd'), etcd.certDir);
    expect(`${at} volume var-lib-etcd`, volume('var-lib-etcd'), etcd.dataDir);
    expect(`${at} mount var-lib-etcd`, mount('var-lib-etcd'), etcd.dataDir);
  }
  return problems;
}
