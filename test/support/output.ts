// Reading what a script run printed: one block per host, then "summary: N of M hosts succeeded: …"; and how many
// stand-in calls were in flight at once. Used by test/scripts.test.ts and test/operator.test.ts.
import * as assert from 'uvu/assert';
import type { Call, Run } from './transport.js';

const sorted = (values: string[]) => [...values].sort();

export interface Output {
  /** Each host's lines, in the order the blocks were printed. */
  blocks: { host: string; lines: string[] }[];
  /** The hosts the summary line says succeeded, or undefined without a summary line. */
  succeeded: string[] | undefined;
  summary: string | undefined;
}

/**
 * Splits stdout into blocks: a line "[HOST] …" for a host other than the current block's starts the next block.
 * A host whose lines were interleaved with another's would show up in two blocks.
 */
export function parseOutput(stdout: string): Output {
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const blocks: Output['blocks'] = [];
  let summary: string | undefined;
  for (const line of lines) {
    if (line.startsWith('summary: ')) {
      summary = line;
      continue;
    }
    const host = /^\[([^\]]+)\] /.exec(line)?.[1];
    if (host !== undefined && host !== blocks.at(-1)?.host) blocks.push({ host, lines: [line] });
    else if (blocks.length) blocks.at(-1)!.lines.push(line);
    else blocks.push({ host: '', lines: [line] });
  }
  const match = summary === undefined ? null : /^summary: (\d+) of (\d+) hosts succeeded(?:: (.*))?$/.exec(summary);
  return { blocks, summary, succeeded: match ? (match[3] ?? '').split(' ').filter(Boolean) : undefined };
}

/** Each host's output is one block, starting with its "[host] STEP" line; the hosts are exactly HOSTS. */
export function assertBlocks(run: Run, hosts: string[], firstStep: (host: string) => string): Output {
  const output = parseOutput(run.stdout);
  // preflight.sh's certificate checks come first, as "[local] …", before any host's block.
  if (output.blocks[0]?.host === 'local') output.blocks.shift();
  const seen = output.blocks.map((b) => b.host);
  assert.equal(sorted(seen), sorted(hosts), `expected one contiguous block per host (a host twice means its lines were interleaved with another's):\n${run.shown}`);
  for (const block of output.blocks) {
    assert.is(block.lines[0], `[${block.host}] ${firstStep(block.host)}`, `${block.host}'s block starts with its step line:\n${run.shown}`);
    const strangers = block.lines.filter((line) => /^\[/.test(line) && !line.startsWith(`[${block.host}] `));
    assert.equal(strangers, [], `${block.host}'s block holds no other host's line`);
  }
  return output;
}

/** The summary line names exactly these hosts as succeeded (in any order: the order they finished). */
export function assertSummary(run: Run, succeeded: string[], total: number): void {
  const output = parseOutput(run.stdout);
  assert.ok(output.summary, `expected a "summary:" line:\n${run.shown}`);
  assert.match(output.summary!, new RegExp(`^summary: ${succeeded.length} of ${total} hosts succeeded`), `the summary's counts:\n${run.shown}`);
  assert.equal(sorted(output.succeeded ?? []), sorted(succeeded), `the hosts the summary says succeeded:\n${run.shown}`);
  assert.ok(run.stdout.trimEnd().endsWith(output.summary!), `the summary is the last line of stdout:\n${run.shown}`);
}

/** The most calls in flight at one moment. */
export function concurrency(list: Call[]): number {
  const events = list.flatMap((c) => [{ at: c.start, d: 1 }, { at: c.end, d: -1 }]).sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of events) {
    now += e.d;
    most = Math.max(most, now);
  }
  return most;
}

