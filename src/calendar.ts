// systemd calendar events (systemd.time(7), "CALENDAR EVENTS"): backup.schedule lands in out/etcd-backup.timer as
// OnCalendar=, and systemd reads it only on the machine that runs the timer, long after generate. This reads an
// expression the way systemd 252's calendar_spec_from_string() (src/shared/calendarspec.c) does, step for step, so
// that what systemd would refuse is refused here, with a reason and a place, before anything is written.
//
// A few forms that systemd reads are refused on purpose (`unsupported`), each with the spelling to use instead, and
// listed in the schema's description of backup.schedule: a time zone other than UTC, two-digit years (systemd turns
// 24 into 2024), fractional seconds, `@SECONDS` timestamps, weekday ranges written with '-', weekday lists ending in
// ',' and lists of days after '~'. The rest (every shorthand, weekday lists and ranges, `*`, lists, `a..b` ranges and `/` repetition in every field,
// '~' for days counted from the month's end, `hh:mm[:ss]`) is read exactly as systemd reads it; test/calendar.test.ts
// holds both to the real systemd-analyze.

export type CalendarVerdict =
  | { ok: true }
  | {
      ok: false;
      /** What is wrong, for a person: the field, the value, and what would be right. */
      reason: string;
      /** 0-based index into the expression where the problem starts. */
      at: number;
      /** systemd would read this form, but it is refused here on purpose (see the comment at the top). */
      unsupported: boolean;
    };

/** The shorthands systemd.time(7) documents, each standing for a full expression. */
export const calendarShorthands = ['minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually'] as const;
// Spellings systemd also reads but does not document (or only recent versions know): refused, naming the documented one.
const undocumentedShorthands: Record<string, string> = { anually: 'annually', biannually: 'semiannually', 'bi-annually': 'semiannually', 'semi-annually': 'semiannually' };

const weekdays: readonly (readonly [string, number])[] = [
  // Longest first: "Monday" must not be read as "Mon" followed by "day".
  ['monday', 0], ['mon', 0], ['tuesday', 1], ['tue', 1], ['wednesday', 2], ['wed', 2], ['thursday', 3], ['thu', 3],
  ['friday', 4], ['fri', 4], ['saturday', 5], ['sat', 5], ['sunday', 6], ['sun', 6],
];

/** Seconds are kept in microseconds, as systemd keeps them, so that its range checks carry over unchanged. */
const microsecondsPerSecond = 1_000_000;
const intMax = 2 ** 31 - 1;
/** systemd's CALENDARSPEC_COMPONENTS_MAX: the longest list it reads in one field. */
const maxComponents = 240;

interface Field {
  name: string;
  from: number;
  to: number;
  /** 1 for every field but seconds, whose values are in microseconds. */
  unit: number;
}
const fields = {
  year: { name: 'year', from: 1970, to: 2199, unit: 1 },
  month: { name: 'month', from: 1, to: 12, unit: 1 },
  day: { name: 'day', from: 1, to: 31, unit: 1 },
  hour: { name: 'hour', from: 0, to: 23, unit: 1 },
  minute: { name: 'minute', from: 0, to: 59, unit: 1 },
  second: { name: 'second', from: 0, to: 60 * microsecondsPerSecond - 1, unit: microsecondsPerSecond },
  // Which field the first two parts of a date are (year and month, or month and day) is known only after the third.
  date: { name: 'date', from: 0, to: 0, unit: 1 },
} satisfies Record<string, Field>;

/** One element of a field's list: `start`, `start..stop`, `start/repeat` or `start..stop/repeat`. */
interface Component {
  start: number;
  /** -1: no range. */
  stop: number;
  /** 0: no repetition. */
  repeat: number;
  at: number;
}

class Refusal {
  constructor(readonly at: number, readonly reason: string, readonly unsupported = false) {}
}

/** Whether systemd would accept `expression` as OnCalendar=, and if not, why and where. Pure. */
export function checkCalendarEvent(expression: string): CalendarVerdict {
  try {
    parseCalendarEvent(expression);
    return { ok: true };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return { ok: false, reason: error.reason, at: error.at, unsupported: error.unsupported };
  }
}

/** What an accepted expression allows, as far as dates go; undefined for a shorthand (every one repeats for ever). */
interface DateSpec {
  /** Bit n: weekday n (0 Monday … 6 Sunday); 0 when the expression names none. */
  weekdays: number;
  year: Component[] | undefined;
  month: Component[] | undefined;
  day: Component[] | undefined;
  endOfMonth: boolean;
  utc: boolean;
}

export type ElapseVerdict = { ever: true } | { ever: false; reason: string };

/** systemd's MAX_YEAR: find_next() gives up past it, so a date after it is "never" there too. */
const lastYear = 2199;
const millisecondsPerDay = 86_400_000;

/**
 * Whether an expression systemd accepts can still elapse on or after `now`, and if not, why. Pure: the caller
 * supplies the clock. An expression checkCalendarEvent refuses is not judged here (ever: true).
 *
 * The rule, by dates only: the event can elapse when some date it allows (a year, month and day of its fields that
 * is a real calendar date, on one of its weekdays, in a year up to 2199, where systemd stops looking) is on or after
 * the first day it could still run on. That day is today's UTC date for an expression ending in UTC; for one in the
 * local time of the machine that runs the timer, which generate does not know, it is yesterday's (a machine at
 * UTC-12 is still there). Every time field allows at least one time, so a date that matches is a day it runs, but
 * the time of day is not weighed: a schedule whose last moment is earlier today is not called "never", the one
 * answer the rule gives late rather than wrongly. It never calls "never" what systemd would still run.
 */
export function checkCalendarElapses(expression: string, now: Date): ElapseVerdict {
  let spec: DateSpec | undefined;
  try {
    spec = parseCalendarEvent(expression);
  } catch (error) {
    if (error instanceof Refusal) return { ever: true };
    throw error;
  }
  if (!spec) return { ever: true };
  const from = Math.floor(now.getTime() / millisecondsPerDay) - (spec.utc ? 0 : 1);
  if (firstDate(spec, from, true) !== undefined) return { ever: true };
  const day = new Date(from * millisecondsPerDay).toISOString().slice(0, 10);
  const which = spec.utc ? '' : ' (yesterday in UTC: the timer runs in the local time of its machine, which may be behind)';
  let reason: string;
  if (firstDate(spec, from, false) !== undefined) reason = `none of the dates it allows on or after ${day}${which} falls on the weekdays it names`;
  else if (firstDate(spec, 0, true) !== undefined) reason = `every date it allows lies before ${day}${which}`;
  else reason = "it allows no real calendar date (February has 28 days, 29 in a leap year; April, June, September and November have 30)";
  return { ever: false, reason };
}

/** The first day (days since 1970-01-01) on or after `from` that `spec` allows, weekdays weighed or not. */
function firstDate(spec: DateSpec, from: number, weighWeekdays: boolean): number | undefined {
  const start = new Date(from * millisecondsPerDay);
  const anyWeekday = !weighWeekdays || spec.weekdays === 0 || spec.weekdays === 0b111_1111;
  for (const year of values(spec.year, fields.year.from, lastYear)) {
    if (year < start.getUTCFullYear()) continue;
    for (const month of values(spec.month, 1, 12)) {
      const length = new Date(Date.UTC(year, month, 0)).getUTCDate();
      for (const day of spec.endOfMonth ? daysFromEnd(spec.day, length) : values(spec.day, 1, length)) {
        if (day < 1 || day > length) continue;
        const date = Date.UTC(year, month - 1, day) / millisecondsPerDay;
        // getUTCDay(): 0 is Sunday; systemd's bits start on Monday.
        if (date >= from && (anyWeekday || spec.weekdays & (1 << ((new Date(date * millisecondsPerDay).getUTCDay() + 6) % 7)))) return date;
      }
    }
  }
  return undefined;
}

/** The values a field's list allows up to `to`, ascending; `*` is every one from `from`. */
function values(chain: Component[] | undefined, from: number, to: number): number[] {
  if (!chain) return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const all = new Set<number>();
  for (const c of chain) {
    const last = c.repeat > 0 ? Math.min(c.stop >= 0 ? c.stop : to, to) : c.start;
    for (let v = c.start; v <= last; v += c.repeat > 0 ? c.repeat : 1) all.add(v);
  }
  return [...all].sort((a, b) => a - b);
}

/**
 * The days of a month of `length` days that a list after '~' allows, as systemd's find_matching_component() reads
 * it: ~N is the N-th day from the end (~01 the last), a range ~A..B runs from the earlier day to the later one, and a
 * repetition counts forward from the day it starts on.
 */
function daysFromEnd(chain: Component[] | undefined, length: number): number[] {
  if (!chain) return values(undefined, 1, length);
  const all = new Set<number>();
  for (const c of chain) {
    const start = length + 1 - c.start;
    const stop = c.stop >= 0 ? length + 1 - c.stop : -1;
    const [low, high] = stop >= 0 ? [Math.min(start, stop), Math.max(start, stop)] : [start, length];
    for (let v = low; v <= (c.repeat > 0 ? high : low); v += c.repeat > 0 ? c.repeat : 1) all.add(v);
  }
  return [...all].sort((a, b) => a - b);
}

function parseCalendarEvent(expression: string): DateSpec | undefined {
  let s = expression;
  const utc = / utc$/i.test(s);
  // The time zone comes last, after a space: systemd strips " UTC" (in any case), then the machine's own zone's
  // abbreviation, then any name it finds in the tz database. Only UTC or no zone is taken here: another name depends
  // on the tz database of the machine that runs the timer.
  if (utc) s = s.slice(0, -4);
  else {
    const space = s.lastIndexOf(' ');
    const zone = s.slice(space + 1);
    if (space !== -1 && /^[A-Za-z]/.test(zone)) {
      const looksLikeZone = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone);
      throw new Refusal(space + 1, `ends in the time zone "${zone}": only UTC, or no zone (the local time of the machine that runs the timer), is accepted (write "${s.slice(0, space)} UTC")`, looksLikeZone);
    }
  }
  if (s === '') throw new Refusal(0, 'is empty: give a schedule, such as daily');
  const lower = s.toLowerCase();
  if ((calendarShorthands as readonly string[]).includes(lower)) return undefined;
  const documented = undocumentedShorthands[lower];
  if (documented) throw new Refusal(0, `is "${s}", an undocumented spelling: write "${documented}"`, true);

  const cursor = { i: 0 };
  const weekdayBits = readWeekdays(s, cursor);
  const date = readDate(s, cursor);
  const time = readTime(s, cursor);
  if (cursor.i < s.length) throw new Refusal(cursor.i, `has ${describeRest(s, cursor.i)} after the time: the time (hh:mm or hh:mm:ss) comes last`);

  // Checked after the whole expression is read, as systemd does (calendar_spec_normalize, then calendar_spec_valid).
  for (const c of date.year ?? []) {
    for (const value of [c.start, c.stop]) {
      if (value >= 0 && value < 100) throw new Refusal(c.at, `writes the year ${value} in fewer than three digits (systemd reads it as ${value < 70 ? 2000 + value : 1900 + value}): write the year in full`, true);
    }
  }
  checkChain(date.year, fields.year, false);
  checkChain(date.month, fields.month, false);
  checkChain(date.day, fields.day, date.endOfMonth && date.day !== undefined);
  checkChain(time.hour, fields.hour, false);
  checkChain(time.minute, fields.minute, false);
  checkChain(time.second, fields.second, false);
  return { weekdays: weekdayBits, year: date.year, month: date.month, day: date.day, endOfMonth: date.endOfMonth, utc };
}

function describeRest(s: string, at: number): string {
  return at >= s.length ? 'nothing' : `"${s.slice(at)}"`;
}

/**
 * `Mon`, `Mon,Wed`, `Mon..Fri`, `Sat,Sun`, names in full or in three letters, in any case, then spaces; or nothing.
 * The cursor moves past them and the spaces.
 */
function readWeekdays(s: string, cursor: { i: number }): number {
  let rangeFrom = -1;
  let first = true;
  let bits = 0;
  for (;;) {
    const rest = s.slice(cursor.i).toLowerCase();
    const day = weekdays.find(([name]) => rest.startsWith(name));
    if (!day) {
      if (first) return bits;
      throw new Refusal(cursor.i, `expects a weekday name (Mon, Tue, … Sun) after "${s.slice(0, cursor.i)}"`);
    }
    const [name, number] = day;
    const after = s[cursor.i + name.length];
    if (after !== undefined && !'-., '.includes(after)) {
      throw new Refusal(cursor.i, `names "${s.slice(cursor.i).split(/[-., ]/)[0]}", which is not a weekday: write Mon, Tue, Wed, Thu, Fri, Sat or Sun (or the full name)`);
    }
    if (rangeFrom > number) throw new Refusal(cursor.i, `has a weekday range that ends on ${s.slice(cursor.i, cursor.i + name.length)} before it begins: a range runs from Mon towards Sun (Mon..Fri; Sat,Sun)`);
    for (let d = rangeFrom >= 0 ? rangeFrom : number; d <= number; d++) bits |= 1 << d;
    cursor.i += name.length;
    const next = s[cursor.i];
    if (next === undefined) return bits;
    if (next === ' ') {
      skipSpaces(s, cursor);
      return bits;
    }
    if (next === '.') {
      if (rangeFrom >= 0) throw new Refusal(cursor.i, 'has a weekday range that goes on past its end (write Mon..Wed,Fri)');
      if (s[cursor.i + 1] !== '.') throw new Refusal(cursor.i, "has a single '.' after a weekday: a range is written Mon..Fri");
      rangeFrom = number;
      cursor.i += 2;
    } else if (next === '-') {
      // systemd still reads Mon-Fri, for compatibility with its first releases; the documented form is Mon..Fri.
      throw new Refusal(cursor.i, `writes a weekday range with '-': write ${s.slice(cursor.i - name.length, cursor.i)}..`, true);
    } else if (next === ',') {
      rangeFrom = -1;
      cursor.i += 1;
    }
    const now = s[cursor.i];
    if (now === undefined || now === ' ') {
      if (next === ',') throw new Refusal(cursor.i - 1, 'ends its weekday list with a comma: remove it', true);
      throw new Refusal(cursor.i, "leaves a weekday range open: name the last day after '..' (Mon..Fri)");
    }
    first = false;
  }
}

function skipSpaces(s: string, cursor: { i: number }): void {
  while (s[cursor.i] === ' ') cursor.i++;
}

interface DatePart {
  year: Component[] | undefined;
  month: Component[] | undefined;
  day: Component[] | undefined;
  endOfMonth: boolean;
}

/** `YYYY-MM-DD` or `MM-DD`, each field a list; '~' before the day counts days back from the month's last. */
function readDate(s: string, cursor: { i: number }): DatePart {
  const none: DatePart = { year: undefined, month: undefined, day: undefined, endOfMonth: false };
  if (cursor.i >= s.length) return none;
  if (s[cursor.i] === '@') throw new Refusal(cursor.i, 'is a timestamp in seconds since 1970: write the date and time it means (YYYY-MM-DD hh:mm:ss UTC)', true);
  const start = cursor.i;
  const first = readChain(s, cursor, fields.date, false);
  // Only a time follows: "02:30", "*:0/15".
  if (cursor.i >= s.length || s[cursor.i] === ':') {
    cursor.i = start;
    return none;
  }
  let endOfMonth = false;
  const separator = (which: string) => {
    if (s[cursor.i] === '~') endOfMonth = true;
    else if (s[cursor.i] !== '-') throw new Refusal(cursor.i, `expects '-' (or '~' before the day) after the ${which} in the date, found ${describeRest(s, cursor.i)} (a date is YYYY-MM-DD or MM-DD, a time hh:mm[:ss])`);
    cursor.i++;
  };
  separator('first field');
  const second = readChain(s, cursor, fields.date, false);
  if (cursor.i >= s.length || s[cursor.i] === ' ') {
    skipSpaces(s, cursor);
    return { year: undefined, month: first, day: second, endOfMonth };
  }
  if (endOfMonth) throw new Refusal(cursor.i, "uses '~' between year and month: '~' stands only before the day (*-02~01 is the last day of February)");
  separator('month');
  const third = readChain(s, cursor, fields.day, false);
  if (cursor.i < s.length && s[cursor.i] !== ' ') throw new Refusal(cursor.i, `expects a space after the date, found ${describeRest(s, cursor.i)}`);
  skipSpaces(s, cursor);
  return { year: first, month: second, day: third, endOfMonth };
}

interface TimePart {
  hour: Component[] | undefined;
  minute: Component[] | undefined;
  second: Component[] | undefined;
}

/** `hh:mm` or `hh:mm:ss`, each field a list; none at all is 00:00:00. */
function readTime(s: string, cursor: { i: number }): TimePart {
  const at = (value: number): Component[] => [{ start: value, stop: -1, repeat: 0, at: cursor.i }];
  if (cursor.i >= s.length) return { hour: at(0), minute: at(0), second: at(0) };
  const hour = readChain(s, cursor, fields.hour, false);
  if (s[cursor.i] !== ':') throw new Refusal(cursor.i, `expects ':' after the hour, found ${describeRest(s, cursor.i)} (a time is hh:mm or hh:mm:ss)`);
  cursor.i++;
  const minute = readChain(s, cursor, fields.minute, false);
  if (cursor.i >= s.length) return { hour, minute, second: at(0) };
  if (s[cursor.i] !== ':') throw new Refusal(cursor.i, `expects ':' or the end after the minute, found ${describeRest(s, cursor.i)}`);
  cursor.i++;
  const second = readChain(s, cursor, fields.second, true);
  return { hour, minute, second };
}

/** `*`, or a ','-separated list of components. undefined is `*` (any value), as in systemd. */
function readChain(s: string, cursor: { i: number }, field: Field, seconds: boolean): Component[] | undefined {
  if (s[cursor.i] === '*') {
    cursor.i++;
    // A '*' second is "every whole second", which systemd keeps as 0 repeating every second.
    return seconds ? [{ start: 0, stop: -1, repeat: microsecondsPerSecond, at: cursor.i - 1 }] : undefined;
  }
  const chain: Component[] = [];
  for (;;) {
    if (chain.length >= maxComponents) throw new Refusal(cursor.i, `lists more than ${maxComponents} values in one field`);
    const at = cursor.i;
    const start = readNumber(s, cursor, field, seconds);
    let stop = -1;
    let repeat = 0;
    if (s[cursor.i] === '.' && s[cursor.i + 1] === '.') {
      cursor.i += 2;
      stop = readNumber(s, cursor, field, seconds);
      repeat = field.unit;
    }
    if (s[cursor.i] === '/') {
      cursor.i++;
      repeat = readNumber(s, cursor, field, seconds);
      if (repeat === 0) throw new Refusal(cursor.i - 1, `repeats the ${field.name} every 0: give a step of at least 1`);
    } else if (seconds && stop >= 0 && start + repeat > stop) {
      throw new Refusal(at, `has the seconds range ${show(start, field)}..${show(stop, field)}, which must end after it begins`);
    }
    const next = s[cursor.i];
    if (next !== undefined && !' ,-~:'.includes(next)) {
      throw new Refusal(cursor.i, `has ${JSON.stringify(next)} in the ${field.name}: a field is *, a number, a list (1,15), a range (1..5) or a repetition (0/15, 1..20/5)`);
    }
    chain.push({ start, stop, repeat, at });
    if (next !== ',') return chain;
    cursor.i++;
  }
}

function readNumber(s: string, cursor: { i: number }, field: Field, seconds: boolean): number {
  const digits = /^[0-9]+/.exec(s.slice(cursor.i))?.[0];
  if (digits === undefined) {
    throw new Refusal(cursor.i, `expects a number in the ${field.name}, found ${describeRest(s, cursor.i)}`);
  }
  const at = cursor.i;
  cursor.i += digits.length;
  if (seconds && s[cursor.i] === '.' && s[cursor.i + 1] !== '.') {
    throw new Refusal(cursor.i, 'has a fraction of a second: write whole seconds (a backup needs no finer schedule)', true);
  }
  const value = Number(digits) * field.unit;
  // systemd keeps every value in an int; a longer one is out of range wherever it stands.
  if (value > intMax) throw new Refusal(at, `has the ${field.name} ${digits}, far out of range`);
  return value;
}

function show(value: number, field: Field): string {
  return String(value / field.unit);
}

/**
 * systemd's normalize_chain() and chain_valid(): a range is shortened to its last repetition, a range that cannot
 * repeat becomes a single value; then each component must lie within the field and repeat at least once within it.
 * With '~' the day counts back from the month's last day, and at most 28 back (every month has 28 days).
 */
function checkChain(chain: Component[] | undefined, field: Field, endOfMonth: boolean): void {
  // systemd 252's chain_valid() takes 3 days off the allowed range again for each further element of a list after
  // '~' (28, then 25, 22, …, in sorted order): *-*~27,26 is refused, *-*~1,2 accepted. Rather than copy that, such
  // lists are refused; one day or a range says the same.
  const second = chain?.[1];
  if (endOfMonth && second) throw new Refusal(second.at, "lists several days after '~', which systemd checks against ever shorter ranges (28, then 25, 22, …): give one day or a range (*-*~01..03)", true);
  const to = endOfMonth ? field.to - 3 : field.to;
  const { from, name } = field;
  const range = `from ${show(from, field)} to ${show(to, field)}${endOfMonth ? " after '~' (days back from the month's last)" : ''}`;
  for (const original of chain ?? []) {
    const c = { ...original };
    if (c.stop > c.start && c.repeat > 0) c.stop -= (c.stop - c.start) % c.repeat;
    if ((c.stop > c.start && c.repeat > 0 && c.start + c.repeat > c.stop) || c.start === c.stop) {
      c.repeat = 0;
      c.stop = -1;
    }
    if (c.start < from || c.start > to) throw new Refusal(c.at, `has the ${name} ${show(c.start, field)}, which must be ${range}`);
    if (c.repeat > to - from) throw new Refusal(c.at, `repeats the ${name} every ${show(c.repeat, field)}, longer than the whole ${name} range (${range})`);
    if (c.stop >= 0) {
      if (c.stop < from || c.stop > to) throw new Refusal(c.at, `has a ${name} range ending at ${show(c.stop, field)}, which must be ${range}`);
      if (c.start + c.repeat > c.stop) throw new Refusal(c.at, `has the ${name} range ${show(c.start, field)}..${show(c.stop, field)}, which ends before it begins`);
    } else if (endOfMonth ? c.start - c.repeat < from : c.start + c.repeat > to) {
      const step = `${show(c.start, field)}/${show(c.repeat, field)}`;
      throw new Refusal(c.at, `has the ${name} ${step}, which never repeats: ${endOfMonth ? `${step} counts back past the month's last day` : `the next would be past ${show(to, field)}`} (write ${show(c.start, field)} alone, or an earlier start)`);
    }
  }
}
