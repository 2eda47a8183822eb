// A one-line terminal progress bar for training loops. No Node imports: any object
// with write() works, so the same code runs under Node, in tests and in browsers.
//
// On a TTY the line is redrawn in place with '\r' (throttled, ~10 redraws/s).
// Elsewhere (CI logs, pipes) it prints a plain line at each ~10% and at finish,
// so logs stay short.

export interface ProgressStream {
  write(s: string): void;
  isTTY?: boolean;
}

export interface ProgressBarOptions {
  total: number;
  /** Leading text, e.g. 'epoch 2/10'. */
  label?: string;
  /** Characters inside the brackets; default 30. */
  width?: number;
  /** Default: process.stdout under Node, console.log in a browser. */
  stream?: ProgressStream;
  /** Clock in ms, injectable for tests; default performance.now / Date.now. */
  now?: () => number;
}

export type ProgressFields = Record<string, string | number>;

const REDRAW_MS = 100;

/**
 * Numbers in a short, stable form: integers as-is below 1e5, otherwise 4 significant
 * digits, and exponent notation (1.2e4, 3.0e-5) for very large or very small values.
 */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e5) return String(v);
  if (a >= 1e4 || (a < 1e-3 && a !== 0)) return v.toExponential(1).replace('e+', 'e');
  return v.toPrecision(4);
}

/**
 * Fields render as 'key value', except keys that read as units ('ex/s', 'it/s',
 * anything with a '/'), which render as 'value key': {loss: 0.42, 'ex/s': 12000.5}
 * → 'loss 0.4200 1.2e4 ex/s'.
 */
export function formatFields(fields: ProgressFields): string {
  return Object.entries(fields)
    .map(([k, v]) => {
      const s = typeof v === 'number' ? formatNumber(v) : v;
      return k.includes('/') ? `${s} ${k}` : `${k} ${s}`;
    })
    .join(' ');
}

function defaultStream(): ProgressStream {
  const g = globalThis as { process?: { stdout?: ProgressStream } };
  const out = g.process?.stdout;
  if (out && typeof out.write === 'function') return out;
  // Browser: one console line per write, never a TTY.
  return { write: (s) => console.log(s.replace(/\n$/, '')), isTTY: false };
}

function defaultNow(): () => number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf ? () => perf.now() : () => Date.now();
}

export class ProgressBar {
  readonly total: number;
  readonly label: string;
  readonly width: number;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private lastDraw = -Infinity;
  private lastDecile = 0;
  private lastLen = 0;
  private finished = false;

  constructor(options: ProgressBarOptions) {
    const { total, label = '', width = 30 } = options;
    if (!Number.isInteger(total) || total < 0) {
      throw new Error(`ProgressBar: total must be a non-negative integer, got ${total}`);
    }
    if (!Number.isInteger(width) || width < 1) {
      throw new Error(`ProgressBar: width must be a positive integer, got ${width}`);
    }
    this.total = total;
    this.label = label;
    this.width = width;
    this.stream = options.stream ?? defaultStream();
    this.tty = this.stream.isTTY === true;
    this.now = options.now ?? defaultNow();
  }

  /** The text of the line for `done` items, without '\r' or newline. */
  render(done: number, fields: ProgressFields = {}): string {
    const frac = this.total > 0 ? Math.min(1, Math.max(0, done / this.total)) : 1;
    const filled = Math.round(frac * this.width);
    const bar = '#'.repeat(filled) + '.'.repeat(this.width - filled);
    const count = `${done}/${this.total}`.padStart(2 * String(this.total).length + 1);
    const rest = formatFields(fields);
    return [this.label, `[${bar}]`, count, rest].filter((s) => s !== '').join(' ');
  }

  update(done: number, fields: ProgressFields = {}): void {
    if (this.finished) return;
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = t;
      this.drawInPlace(this.render(done, fields));
      return;
    }
    // Plain mode: one line per crossed 10% step; the final line comes from finish().
    const decile = this.total > 0 ? Math.floor((10 * done) / this.total) : 10;
    if (decile > this.lastDecile && done < this.total) {
      this.lastDecile = decile;
      this.stream.write(this.render(done, fields) + '\n');
    }
  }

  /** Draws the complete bar (always, unthrottled) and ends the line. */
  finish(fields: ProgressFields = {}): void {
    if (this.finished) return;
    this.finished = true;
    const line = this.render(this.total, fields);
    if (this.tty) {
      this.drawInPlace(line);
      this.stream.write('\n');
    } else {
      this.stream.write(line + '\n');
    }
  }

  private drawInPlace(line: string): void {
    // Pad with spaces to erase a longer previous line (no ANSI needed).
    const pad = Math.max(0, this.lastLen - line.length);
    this.stream.write('\r' + line + ' '.repeat(pad));
    this.lastLen = line.length;
  }
}
