// A drawing pad for the garment classifier: the user draws white on black (as Fashion-MNIST's
// images are: bright garment, black background) with a mouse, pen or finger, and toInput() turns
// the drawing into the 28x28 bytes the classifier expects.
// any pixel that is not black counts as drawn: the dataset's bounding boxes include the faint
// edge pixels of a garment, and a bounding box one pixel short rescales the whole image
const INK_THRESHOLD = 0;

/**
 * Pointer drawing on `canvas` (any size; square reads best). `onChange` is called after every
 * stroke segment and on clear, at most once per animation frame.
 */
export function createDrawPad(canvas, onChange) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  // a thick round brush: Fashion-MNIST's garments are filled silhouettes, not thin outlines
  const brush = canvas.width / 12;
  let last = null, queued = false;
  const changed = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; onChange(); });
  };
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
  };
  const segment = (a, b) => {
    ctx.strokeStyle = '#fff'; ctx.lineWidth = brush; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
    ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
    changed();
  };
  canvas.style.touchAction = 'none'; // a finger draws instead of scrolling the page
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
    segment(last, last); // a tap leaves a dot
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    segment(last, p);
    last = p;
  });
  const end = () => { last = null; };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  const clear = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, canvas.width, canvas.height); changed(); };
  clear();
  return {
    clear,
    /**
     * Paints a 28x28 image (784 bytes, e.g. a test-set image) over the whole pad, as 10x10 blocks
     * (no smoothing): toInput() then gives the image back unchanged, so this checks the pipeline.
     */
    drawImage(bytes) {
      const small = new ImageData(28, 28);
      bytes.forEach((v, i) => small.data.set([v, v, v, 255], 4 * i));
      const tmp = new OffscreenCanvas(28, 28);
      tmp.getContext('2d').putImageData(small, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
      changed();
    },
    /** The drawing as 784 bytes, prepared as Fashion-MNIST's images were; null if nothing is drawn. */
    toInput() {
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const grey = new Uint8Array(canvas.width * canvas.height);
      for (let i = 0; i < grey.length; i++) grey[i] = data[4 * i];
      return toFashionMNIST(grey, canvas.width, canvas.height);
    },
  };
}

/**
 * Fashion-MNIST's preparation (Xiao et al. 2017, section 2): trim to the object's bounding box,
 * resize so the longest edge is 28 pixels, then extend the short edge to 28 with the object in
 * the centre. (MNIST's digits instead fit a 20x20 box placed by centre of mass; Fashion-MNIST's
 * garments fill the frame, so a drawing scaled MNIST's way would look too small to the model.)
 * The resize averages each 28th of the box (an area filter), so thick strokes become grey edges
 * as in the dataset. `grey` is width*height bytes; returns 784 bytes or null if blank.
 */
export function toFashionMNIST(grey, width, height) {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (grey[y * width + x] > INK_THRESHOLD) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, side = Math.max(bw, bh);
  const scale = side / 28; // source pixels per output pixel
  const tw = Math.max(1, Math.round(bw / scale)), th = Math.max(1, Math.round(bh / scale));
  // the dataset rounds the margin of the short side up (checked on its test images)
  const ox = Math.ceil((28 - tw) / 2), oy = Math.ceil((28 - th) / 2);
  const out = new Uint8Array(784);
  for (let v = 0; v < th; v++) {
    const sy0 = y0 + Math.floor(v * scale), sy1 = Math.max(sy0 + 1, Math.min(y1 + 1, y0 + Math.floor((v + 1) * scale)));
    for (let u = 0; u < tw; u++) {
      const sx0 = x0 + Math.floor(u * scale), sx1 = Math.max(sx0 + 1, Math.min(x1 + 1, x0 + Math.floor((u + 1) * scale)));
      let sum = 0;
      for (let sy = sy0; sy < sy1; sy++) for (let sx = sx0; sx < sx1; sx++) sum += grey[sy * width + sx];
      out[(oy + v) * 28 + ox + u] = Math.round(sum / ((sy1 - sy0) * (sx1 - sx0)));
    }
  }
  return out;
}
