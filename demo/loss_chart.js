// A live loss chart on a canvas for the demo pages: axes, the largest loss and 0 on the
// y axis, the step count, and the loss per step as a line.
export function drawLossChart(canvas, losses) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, pad = 30;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#999'; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(pad, 10); ctx.lineTo(pad, h - pad); ctx.lineTo(w - 10, h - pad); ctx.stroke();
  const max = Math.max(...losses), n = Math.max(losses.length - 1, 1);
  ctx.fillStyle = '#444'; ctx.fillText(max.toFixed(2), 2, 14); ctx.fillText('0', 18, h - pad); ctx.fillText(`step ${losses.length}`, w - 70, h - 10);
  ctx.strokeStyle = '#1f77b4'; ctx.lineWidth = 2; ctx.beginPath();
  losses.forEach((l, i) => {
    const x = pad + (i / n) * (w - pad - 10), y = h - pad - (l / max) * (h - pad - 10);
    i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
  });
  ctx.stroke();
}
