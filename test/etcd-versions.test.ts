// src/etcd-versions.ts: the etcd version comes from the image tag or etcd.version, and every choice by version is a
// row of one table, with the etcd fact behind it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ETCD_IMAGES,
  ETCD_VERSION_TABLE,
  KUBEADM,
  compareVersions,
  imageContents,
  imageParts,
  parseEtcdVersion,
  versionFromImage,
  versionRules,
  type EtcdVersion,
  type VersionRow,
} from '../src/etcd-versions.js';

const v = (text: string): EtcdVersion => {
  const version = parseEtcdVersion(text);
  if (!version) throw new Error(`test setup: ${text} does not parse`);
  return version;
};
const rules = (text: string) => {
  const found = versionRules(v(text));
  if (!found) throw new Error(`expected the table to know etcd ${text}`);
  return found;
};

test('a version is read from upstream tags (v3.5.21), plain ones (3.6.4) and registry.k8s.io tags (3.5.21-0)', () => {
  assert.equal(parseEtcdVersion('v3.5.21'), { major: 3, minor: 5, patch: 21, text: '3.5.21' });
  assert.equal(parseEtcdVersion('3.5.21-0')?.text, '3.5.21');
  assert.equal(parseEtcdVersion('3.6.4')?.text, '3.6.4');
  for (const tag of ['latest', '3.5', 'v3.5.21-rc.0', '3.5.21-0-linux-amd64', 'sha256']) {
    assert.is(parseEtcdVersion(tag), undefined, `${tag} names no etcd version`);
  }
});

test('the tag is found after the last slash: a registry port is not a tag, a digest is not a version', () => {
  assert.equal(imageParts('quay.io/coreos/etcd:v3.3.5'), { repository: 'quay.io/coreos/etcd', tag: 'v3.3.5' });
  assert.equal(imageParts('registry.local:5000/etcd'), { repository: 'registry.local:5000/etcd', tag: undefined });
  assert.equal(imageParts('registry.local:5000/etcd:3.5.21-0'), { repository: 'registry.local:5000/etcd', tag: '3.5.21-0' });
  const digest = `@sha256:${'a'.repeat(64)}`;
  assert.equal(imageParts(`registry.k8s.io/etcd${digest}`), { repository: 'registry.k8s.io/etcd', tag: undefined });
  assert.is(versionFromImage(`registry.k8s.io/etcd:3.5.21-0${digest}`)?.text, '3.5.21');
  assert.is(versionFromImage(`registry.k8s.io/etcd${digest}`), undefined);
  assert.is(versionFromImage('registry.example/etcd:stable'), undefined);
});

test('versions compare by number, not as text (3.5.9 < 3.5.11)', () => {
  assert.ok(compareVersions(v('3.5.9'), v('3.5.11')) < 0);
  assert.ok(compareVersions(v('3.10.0'), v('3.9.9')) > 0);
  assert.is(compareVersions(v('v3.5.21'), v('3.5.21-0')), 0);
});

test('the table knows 3.3 to 3.7, and nothing else (3.2, 3.8, 4.0 are refused, not guessed at)', () => {
  for (const known of ['3.3.5', '3.4.23', '3.5.30', '3.6.4', '3.7.0']) assert.ok(versionRules(v(known)), `${known} is known`);
  for (const unknown of ['3.2.32', '3.8.0', '4.0.0', '2.3.8']) assert.is(versionRules(v(unknown)), undefined, `${unknown} is not known`);
});

test('probes: /health before 3.5.11 (with exclude=NOSPACE from 3.4.16, serializable from 3.5.3), /livez and /readyz from 3.5.11', () => {
  assert.equal(rules('3.4.10').probePaths, { liveness: '/health', readiness: '/health', startup: '/health' });
  assert.equal(rules('3.4.23').probePaths, { liveness: '/health?exclude=NOSPACE', readiness: '/health', startup: '/health' });
  assert.equal(rules('3.5.10').probePaths, {
    liveness: '/health?exclude=NOSPACE&serializable=true',
    readiness: '/health',
    startup: '/health?serializable=false',
  });
  assert.equal(rules('3.5.11').probePaths, { liveness: '/livez', readiness: '/readyz', startup: '/readyz' });
  assert.equal(rules('3.6.4').probePaths, { liveness: '/livez', readiness: '/readyz', startup: '/readyz' });
});

test('corruption check and watch progress: --experimental-* on 3.4 and 3.5, the 3.6 names from 3.6, no --experimental-* on 3.7', () => {
  const r34 = rules('3.4.23');
  assert.equal(r34.initialCorruptCheck, { name: 'experimental-initial-corrupt-check', value: 'true' });
  assert.equal(r34.watchProgressNotifyInterval, { name: 'experimental-watch-progress-notify-interval', value: '5s' });
  assert.is(rules('3.4.10').watchProgressNotifyInterval, undefined, 'the flag only exists from 3.4.11');
  const r35 = rules('3.5.21');
  assert.equal(r35.initialCorruptCheck, { name: 'experimental-initial-corrupt-check', value: 'true' });
  assert.equal(r35.watchProgressNotifyInterval, { name: 'experimental-watch-progress-notify-interval', value: '5s' });
  for (const version of ['3.6.0', '3.6.4', '3.7.0']) {
    const r = rules(version);
    assert.equal(r.initialCorruptCheck, { name: 'feature-gates', value: 'InitialCorruptCheck=true' }, version);
    assert.equal(r.watchProgressNotifyInterval, { name: 'watch-progress-notify-interval', value: '5s' }, version);
  }
  assert.ok(rules('3.6.4').experimentalFlags, '3.6 still accepts --experimental-* (deprecated)');
  assert.not.ok(rules('3.7.0').experimentalFlags, '3.7 removed every --experimental-* flag');
});

test('learners exist, and etcdctl speaks v3 without ETCDCTL_API=3, from 3.4 on', () => {
  assert.not.ok(rules('3.3.5').etcdctlV3ByDefault);
  assert.ok(rules('3.4.0').etcdctlV3ByDefault);
  assert.not.ok(rules('3.3.5').learners);
  assert.ok(rules('3.4.0').learners);
  assert.ok(rules('3.5.21').learners);
});

test('every row says the etcd fact behind it and links where it is written down; rows are in version order', () => {
  const families: [string, readonly VersionRow<unknown>[]][] = [
    ...Object.entries(ETCD_VERSION_TABLE).map(([name, rows]): [string, readonly VersionRow<unknown>[]] => [name, rows]),
    ...ETCD_IMAGES.map((family): [string, readonly VersionRow<unknown>[]] => [family.repositories.join(', '), family.contents]),
  ];
  for (const [name, rows] of families) {
    assert.ok(rows.length > 0, `${name} has rows`);
    rows.forEach((row, i) => {
      assert.ok(parseEtcdVersion(row.from), `${name}[${i}].from is a version: ${row.from}`);
      assert.ok(row.fact.length > 20, `${name}[${i}] says the fact behind it`);
      assert.match(row.source, /^https:\/\//, `${name}[${i}] links its source`);
      const previous = rows[i - 1];
      if (previous) assert.ok(compareVersions(v(previous.from), v(row.from)) < 0, `${name}: row ${i} (${row.from}) comes after ${previous.from}`);
    });
  }
});

test("images: etcd's own have sh and tee until 3.5.7, then neither; registry.k8s.io's have sh but no tee; others are unknown", () => {
  assert.equal(imageContents('quay.io/coreos/etcd:v3.3.5', v('3.3.5')), { shell: true, tee: true });
  assert.equal(imageContents('gcr.io/etcd-development/etcd:v3.5.6', v('3.5.6')), { shell: true, tee: true });
  assert.equal(imageContents('quay.io/coreos/etcd:v3.5.7', v('3.5.7')), { shell: false, tee: false });
  assert.equal(imageContents('gcr.io/etcd-development/etcd:v3.6.4', v('3.6.4')), { shell: false, tee: false });
  assert.equal(imageContents('registry.k8s.io/etcd:3.5.21-0', v('3.5.21')), { shell: true, tee: false });
  assert.is(imageContents('quay.io/coreos/etcd:v3.4.27', v('3.4.27')), undefined, 'later 3.4 images are not known');
  assert.is(imageContents('registry.example.com/mirror/etcd:v3.3.5', v('3.3.5')), undefined, 'a mirror is not guessed at');
});

test('the kubeadm profile matches kubeadm v1.33: registry.k8s.io/etcd:3.5.21-0, metrics on 2381', () => {
  assert.is(KUBEADM.kubernetesVersion, 'v1.33');
  assert.is(KUBEADM.defaultImage, 'registry.k8s.io/etcd:3.5.21-0');
  assert.is(versionFromImage(KUBEADM.defaultImage)?.text, '3.5.21');
  assert.is(KUBEADM.metricsPort, 2381);
});

test.run();
