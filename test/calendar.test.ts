// calendar.ts: backup.schedule is read the way systemd reads OnCalendar=, and held to the real systemd-analyze.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { checkCalendarEvent } from '../src/calendar.js';
import { formatProblem, parseCluster } from '../src/load.js';
import { minimalCluster, runCli, tempDir, writeFile } from './support/fixtures.js';
import { tree } from './support/tree.js';
import { requireTools } from './support/tools.js';

/**
 * The expressions systemd-analyze accepts, out of `expressions`, in one run. It reads every argument and prints, for
 * each: "Normalized form: …" when it accepts it, "Failed to parse calendar specification 'EXPR': why" when it refuses
 * it, or, for one it accepts but cannot work out the next time of (a zone other than UTC, here), "Failed to determine
 * next elapse for 'EXPR': why". The refusals quote the expression as given, so they are what is read.
 * TZ=UTC: systemd also strips the machine's own zone's abbreviation, which must not depend on where the test runs.
 */
function systemdAccepts(expressions: readonly string[]): Set<string> {
  const unique = [...new Set(expressions)];
  const run = spawnSync('systemd-analyze', ['calendar', '--', ...unique], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C', SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const refused = new Set([...run.stderr.matchAll(/^Failed to parse calendar specification '(.*)': [^']*$/gm)].map((m) => m[1] ?? ''));
  const normalized = [...run.stdout.matchAll(/^Normalized form: /gm)].length;
  const noNextElapse = [...run.stderr.matchAll(/^Failed to determine next elapse for '/gm)].length;
  assert.is(normalized + noNextElapse + refused.size, unique.length, `systemd-analyze answered once for every expression (stderr: ${run.stderr.slice(0, 300)})`);
  return new Set(unique.filter((expression) => !refused.has(expression)));
}

type Expected = 'valid' | 'invalid' | 'unsupported';
/** [expression, what systemd and we say] where "unsupported" is: systemd reads it, we refuse it on purpose. */
const table: [string, Expected][] = [
  // The shorthands, in any case, with or without UTC.
  ['minutely', 'valid'], ['hourly', 'valid'], ['daily', 'valid'], ['weekly', 'valid'], ['monthly', 'valid'],
  ['yearly', 'valid'], ['annually', 'valid'], ['quarterly', 'valid'], ['semiannually', 'valid'], ['DAILY', 'valid'],
  ['daily UTC', 'valid'], ['daily utc', 'valid'], ['dayly', 'invalid'], ['daily ', 'invalid'], ['daily  UTC', 'invalid'],
  ['semi-annually', 'unsupported'], ['anually', 'unsupported'],
  // Weekdays.
  ['Mon', 'valid'], ['Mon..Fri', 'valid'], ['Sat,Sun', 'valid'], ['monday..friday 02:00', 'valid'], ['Mon..Wed,Fri *-*-* 02:00', 'valid'],
  ['Sat,Sun 03:30:00 UTC', 'valid'], ['Mon  *-*-* 02:00', 'valid'], ['Fri..Mon', 'invalid'], ['Mon.Fri', 'invalid'], ['Mon..', 'invalid'],
  ['Mo', 'invalid'], ['Monx', 'invalid'], ['Mon..Fri..Sun', 'invalid'], ['Mon,,Tue', 'invalid'],
  ['Mon-Fri', 'unsupported'], ['Mon,', 'unsupported'], ['Mon, 02:00', 'unsupported'],
  // Dates.
  ['*-*-*', 'valid'], ['*-*-* ', 'valid'], ['2026-12-24', 'valid'], ['*-*-01 03:00', 'valid'], ['*-01,04,07,10-01', 'valid'],
  ['*-02~01', 'valid'], ['*-*~03..01', 'invalid'], ['*-*~01..03', 'valid'], ['*-*~28', 'valid'], ['*-*~29', 'invalid'], ['*-*~*', 'valid'],
  ['*-*~01,03', 'unsupported'], ['*-*~27,26', 'invalid'], ['*-*~28/26,11', 'invalid'],
  ['*-*-1/7', 'valid'], ['*-*-31', 'valid'], ['*-*-32', 'invalid'], ['*-13-01', 'invalid'], ['*-00-01', 'invalid'], ['12-24', 'valid'],
  ['*~01-01', 'invalid'], ['1969-01-01', 'invalid'], ['2199-12-31', 'valid'], ['2200-01-01', 'invalid'], ['0100-01-01', 'invalid'],
  ['2026..2030-*-*', 'valid'], ['*-*-* *', 'invalid'], ['*-*-*-*', 'invalid'], ['*-*', 'valid'], ['*-* 02:00', 'valid'],
  ['26-01-01', 'unsupported'], ['0026-01-01', 'unsupported'], ['@1700000000', 'unsupported'],
  // Times.
  ['02:30', 'valid'], ['02:30:15', 'valid'], ['*:0/15', 'valid'], ['*:*/15', 'invalid'], ['0/6:00', 'valid'], ['00,12:00', 'valid'],
  ['8..18/2:00', 'valid'], ['24:00', 'invalid'], ['23:60', 'invalid'], ['00:00:60', 'invalid'], ['00:00:59', 'valid'],
  ['5..5:00', 'valid'], ['00:00:05..05', 'invalid'], ['00:00:05..06', 'valid'], ['00:00:05..05/10', 'valid'], ['00:00:*', 'valid'],
  ['00:50/15', 'invalid'], ['00:44/15', 'valid'], ['00:0/60', 'invalid'], ['00:0/59', 'valid'], ['00:0/0', 'invalid'], ['20/5:00', 'invalid'],
  ['10..5:00', 'invalid'], ['00:00:00.5', 'unsupported'], ['2', 'invalid'], ['02', 'invalid'], ['02:', 'invalid'], ['02:30:', 'invalid'],
  ['02:30 ', 'invalid'], ['02:30:00:00', 'invalid'], ['1,:00', 'invalid'], ['*,1:00', 'invalid'], ['99999999999:00', 'invalid'],
  // Time zones.
  ['*-*-* 02:00 UTC', 'valid'], ['*-*-* 02:00 Europe/Berlin', 'unsupported'], ['daily CET', 'unsupported'],
  ['daily Mars/Olympus', 'invalid'], ['UTC', 'invalid'], [' UTC', 'invalid'], ['', 'invalid'], [' daily', 'invalid'],
];

test('the table holds a fair share of each kind', () => {
  const kinds = (kind: Expected) => table.filter(([, k]) => k === kind).length;
  assert.ok(table.length >= 40 && kinds('valid') >= 20 && kinds('invalid') >= 20 && kinds('unsupported') >= 5, `${kinds('valid')} valid, ${kinds('invalid')} invalid, ${kinds('unsupported')} unsupported`);
});

test('each expression of the table is accepted or refused by our reader as the table says, with a reason and a place', () => {
  for (const [expression, expected] of table) {
    const verdict = checkCalendarEvent(expression);
    if (expected === 'valid') {
      assert.ok(verdict.ok, `${JSON.stringify(expression)} is a valid calendar event, refused with: ${verdict.ok ? '' : verdict.reason}`);
      continue;
    }
    assert.ok(!verdict.ok, `${JSON.stringify(expression)} is accepted, though it is ${expected}`);
    if (verdict.ok) continue;
    if (expected === 'unsupported') assert.ok(verdict.unsupported, `${JSON.stringify(expression)}: systemd reads it, so the message should say it is refused on purpose (${verdict.reason})`);
    assert.ok(verdict.at >= 0 && verdict.at <= expression.length, `${JSON.stringify(expression)}: the place ${verdict.at} lies in the expression`);
    assert.ok(verdict.reason.length > 10, `${JSON.stringify(expression)}: a reason a person can act on (${verdict.reason})`);
  }
});

test('the real systemd-analyze agrees with the table: what we accept it accepts, what we call invalid it refuses', () => {
  if (!requireTools('calendar: table against systemd-analyze', 'systemd-analyze')) return;
  const accepted = systemdAccepts(table.map(([expression]) => expression));
  const disagreements = table.filter(([expression, expected]) => accepted.has(expression) !== (expected !== 'invalid'));
  assert.equal(
    disagreements.map(([expression, expected]) => `${JSON.stringify(expression)}: table says ${expected}, systemd-analyze ${accepted.has(expression) ? 'accepts' : 'refuses'}`),
    [],
    'systemd-analyze calendar (systemd 252) decides what is valid; a time-zone row needs tzdata',
  );
});

// Seeded, so that a failure repeats; CALENDAR_SEED=N tries other expressions, CALENDAR_COUNTS=1 prints how many were
// accepted (26 seeds beside this one agreed when it was written).
test('on 5,000 generated expressions, systemd-analyze accepts all we accept, and refuses all we call invalid', () => {
  if (!requireTools('calendar: generated expressions against systemd-analyze', 'systemd-analyze')) return;
  // Numbers mostly within their field, sometimes just outside it, written with and without leading zeros.
  const number = (low: number, high: number) =>
    fc.oneof({ weight: 9, arbitrary: fc.integer({ min: low, max: high }) }, { weight: 1, arbitrary: fc.constantFrom(0, high + 1, 26, 99, 100) })
      .chain((n) => fc.constantFrom(String(n), String(n).padStart(2, '0')));
  const component = (low: number, high: number) => fc.oneof(
    { weight: 4, arbitrary: number(low, high) },
    { weight: 1, arbitrary: fc.tuple(number(low, high), number(low, high)).map(([a, b]) => `${a}..${b}`) },
    { weight: 1, arbitrary: fc.tuple(number(low, high), number(1, Math.ceil(high / 3))).map(([a, b]) => `${a}/${b}`) },
    { weight: 1, arbitrary: fc.tuple(number(low, high), number(low, high), number(1, Math.ceil(high / 3))).map(([a, b, c]) => `${a}..${b}/${c}`) },
  );
  const chain = (low: number, high: number) => fc.oneof(
    { weight: 1, arbitrary: fc.constant('*') },
    { weight: 1, arbitrary: fc.array(component(low, high), { minLength: 1, maxLength: 3 }).map((parts) => parts.join(',')) },
  );
  const year = fc.oneof(fc.constant('*'), fc.constantFrom('1969', '1970', '2026', '2026..2030', '2199', '2200', '26', '2026,2027'));
  const dash = fc.constantFrom('-', '-', '-', '-', '~');
  const date = fc.oneof(
    fc.tuple(year, dash, chain(1, 12), dash, chain(1, 31)).map((parts) => parts.join('')),
    fc.tuple(chain(1, 12), dash, chain(1, 31)).map((parts) => parts.join('')),
  );
  const time = fc.oneof(
    fc.tuple(chain(0, 23), chain(0, 59)).map(([h, m]) => `${h}:${m}`),
    fc.tuple(chain(0, 23), chain(0, 59), chain(0, 59)).map(([h, m, sec]) => `${h}:${m}:${sec}`),
  );
  const day = fc.constantFrom('Mon', 'Tue', 'wed', 'Thursday', 'Fri', 'Sat', 'Sun', 'SUN', 'Mo');
  const weekdays = fc.array(fc.tuple(day, fc.constantFrom(',', ',', ',', '..', '..', '..', '-', '.')), { minLength: 1, maxLength: 3 }).chain((parts) =>
    fc.constantFrom(true, false, false, false, false, false).map((trailing) => {
      const text = parts.map(([d, sep]) => `${d}${sep}`).join('');
      return trailing ? text : text.slice(0, text.length - (parts[parts.length - 1]?.[1].length ?? 0));
    }),
  );
  const space = fc.constantFrom(' ', ' ', ' ', '  ');
  const zone = fc.constantFrom('', '', '', '', '', '', ' UTC', ' utc', ' Europe/Berlin', ' Nowhere');
  const structured = fc
    .tuple(fc.option(weekdays), fc.option(date), fc.option(time), zone, space)
    .map(([w, d, t, z, sp]) => [w, d, t].filter((part): part is string => part !== null).join(sp) + z);
  const token = fc.constantFrom('Mon', 'fri', '..', '.', ',', '-', '~', '*', '/', ':', ' ', '0', '1', '02', '5', '12', '23', '24', '31', '59', '60', '2026', 'daily', 'weekly', 'UTC', '@1');
  const soup = fc.array(token, { minLength: 1, maxLength: 10 }).map((tokens) => tokens.join(''));
  const expressions = [...new Set(fc.sample(fc.oneof({ arbitrary: structured, weight: 3 }, { arbitrary: soup, weight: 1 }), { numRuns: 5000, seed: Number(process.env['CALENDAR_SEED'] ?? 20261127) }).filter((e) => !e.startsWith('-')))];

  const accepted = systemdAccepts(expressions);
  const wronglyAccepted: string[] = [];
  const wronglyCalledInvalid: string[] = [];
  let unsupported = 0;
  for (const expression of expressions) {
    const verdict = checkCalendarEvent(expression);
    if (verdict.ok && !accepted.has(expression)) wronglyAccepted.push(expression);
    if (!verdict.ok && !verdict.unsupported && accepted.has(expression)) wronglyCalledInvalid.push(`${JSON.stringify(expression)}: ${verdict.reason}`);
    if (!verdict.ok && verdict.unsupported && accepted.has(expression)) unsupported++;
  }
  assert.equal(wronglyAccepted, [], 'never accept what systemd refuses: the timer would not start on the machine that runs it');
  assert.equal(wronglyCalledInvalid, [], 'what systemd accepts is refused only as one of the forms refused on purpose');
  // The generator must reach both sides, or the comparison proves nothing.
  assert.ok(accepted.size >= expressions.length / 10, `systemd accepted ${accepted.size} of ${expressions.length}`);
  assert.ok(accepted.size <= expressions.length * 0.9, `systemd refused ${expressions.length - accepted.size} of ${expressions.length}`);
  assert.ok(unsupported < accepted.size / 2, `${unsupported} of the ${accepted.size} that systemd accepts are refused on purpose`);
  if (process.env['CALENDAR_COUNTS']) console.log(`${expressions.length} expressions: systemd accepts ${accepted.size}, of which we refuse ${unsupported} on purpose`);
});

test('the schema says which forms systemd reads but generate refuses', () => {
  const schema = JSON.parse(readFileSync(new URL('../../schema/cluster.schema.json', import.meta.url), 'utf8')) as { $defs: { backup: { properties: { schedule: { description: string } } } } };
  const description = schema.$defs.backup.properties.schedule.description;
  for (const form of ['time zone other than UTC', 'two-digit years', 'fractional seconds', '@SECONDS', "written with '-'", "ending in ','", "list of days after '~'", 'semi-annually']) {
    assert.ok(description.includes(form), `backup.schedule's description names ${form}`);
  }
});

test('a bad backup.schedule is an error at its place in cluster.json, and out/ is left as it was', () => {
  const text = JSON.stringify({ ...minimalCluster(3), backup: { schedule: 'Mon..Fri *-*-* 24:00' } }, null, 2);
  const result = parseCluster(text, 'cluster.json');
  assert.ok(!result.ok, 'an hour 24 is refused');
  if (result.ok) return;
  const line = text.split('\n').findIndex((l) => l.includes('"schedule"')) + 1;
  assert.equal(result.problems.map(formatProblem), [
    `cluster.json:${line}:17  /backup/schedule  must be a systemd calendar event (OnCalendar=, man systemd.time): it has the hour 24, which must be from 0 to 23 (at character 16 of "Mon..Fri *-*-* 24:00"; e.g. daily, Mon..Fri *-*-* 02:30, *-*-1,15 03:00:00 UTC)`,
  ]);

  const dir = tempDir('calendar');
  try {
    const config = writeFile(join(dir.path, 'cluster.json'), JSON.stringify(minimalCluster(3), null, 2));
    assert.is(runCli(['generate', '--config', config]).code, 0);
    const before = tree(join(dir.path, 'out'));
    writeFile(config, JSON.stringify({ ...minimalCluster(3), backup: { schedule: 'daily Europe/Berlin' } }, null, 2));
    const run = runCli(['generate', '--config', config]);
    assert.is(run.code, 1);
    assert.match(run.err.join('\n'), /\/backup\/schedule {2}is a systemd calendar event that etcd-bootstrap does not take: it ends in the time zone "Europe\/Berlin": only UTC/);
    assert.equal(tree(join(dir.path, 'out')), before, 'nothing under out/ changed');
  } finally {
    dir.remove();
  }
});

test.run();
