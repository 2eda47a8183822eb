import { describe, expect, it } from 'vitest';
import { ProgressBar, formatFields, formatNumber } from '../../src/train/progress.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => void writes.push(s) } };
}

describe('formatNumber / formatFields', () => {
  it('formats numbers compactly', () => {
    expect(formatNumber(0.421337)).toBe('0.4213');
    expect(formatNumber(230)).toBe('230');
    expect(formatNumber(12345.6)).toBe('1.2e4');
    expect(formatNumber(0.00003)).toBe('3.0e-5');
    expect(formatNumber(NaN)).toBe('NaN');
  });
  it('puts unit-like keys after the value', () => {
    expect(formatFields({ loss: 0.42132, 'ex/s': 12000.5, lr: '1e-3' })).toBe('loss 0.4213 1.2e4 ex/s lr 1e-3');
  });
});

describe('ProgressBar', () => {
  it('renders label, bar, count and fields', () => {
    const bar = new ProgressBar({ total: 469, label: 'epoch 2/10', width: 12, stream: sink(false).stream });
    expect(bar.render(230, { loss: 0.4213, 'ex/s': 12000.5 })).toBe('epoch 2/10 [######......] 230/469 loss 0.4213 1.2e4 ex/s');
  });

  it('TTY: redraws in place with \\r, throttled to ~10/s, finish ends the line', () => {
    const { writes, stream } = sink(true);
    let t = 0;
    const bar = new ProgressBar({ total: 100, label: 'ep', width: 10, stream, now: () => t });
    for (let i = 1; i <= 100; i++) { t += 5; bar.update(i, { loss: 1 / i }); } // 500 ms in total
    expect(writes.length).toBeGreaterThanOrEqual(4);
    expect(writes.length).toBeLessThanOrEqual(6);
    for (const w of writes) { expect(w.startsWith('\r')).toBe(true); expect(w).not.toContain('\n'); }
    bar.finish({ loss: 0.01 });
    expect(writes.at(-2)).toContain('[##########] 100/100 loss 0.01000');
    expect(writes.at(-1)).toBe('\n');
    bar.update(50); // ignored after finish
    expect(writes.at(-1)).toBe('\n');
  });

  it('TTY: pads over a longer previous line', () => {
    const { writes, stream } = sink(true);
    let t = 0;
    const bar = new ProgressBar({ total: 10, width: 4, stream, now: () => t });
    bar.update(1, { note: 'a long message' });
    t += 1000;
    bar.update(2, { note: 'x' });
    expect(writes[1].length).toBe(writes[0].length);
  });

  it('non-TTY: plain lines at most every 10% plus the final one', () => {
    const { writes, stream } = sink(false);
    const bar = new ProgressBar({ total: 1000, label: 'epoch 1/1', stream });
    for (let i = 1; i <= 1000; i++) bar.update(i, { loss: 0.5 });
    bar.finish({ loss: 0.25 });
    expect(writes.length).toBe(10); // 10%..90% and finish
    for (const w of writes) { expect(w.endsWith('\n')).toBe(true); expect(w).not.toContain('\r'); }
    expect(writes[0]).toContain(' 100/1000 ');
    expect(writes.at(-1)).toContain('1000/1000 loss 0.2500');
  });

  it('validates total and width', () => {
    expect(() => new ProgressBar({ total: -1, stream: sink(false).stream })).toThrow(/total must be a non-negative integer/);
    expect(() => new ProgressBar({ total: 5, width: 0, stream: sink(false).stream })).toThrow(/width must be a positive integer/);
  });
});
