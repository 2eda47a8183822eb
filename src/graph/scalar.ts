// Device scalars: a 0-d tensor in a GPU buffer of its own that the host (or a kernel) changes
// without a retrace (kn.scalar). Compiled programs read the buffer, so a learning rate set by a schedule,
// an optimizer's step count or a loss scale changes what the next call computes. A change is
// an assign like any other: work recorded before it still sees the old value.
import { Tensor, assign, constant, tensor } from './tensor.js';
import { type DType, isDType, DTYPES } from './dtype.js';
import { shapeStr } from './ir.js';

export class DeviceScalar extends Tensor {
  /** what the host last set, or undefined after a device-side update (then read() it) */
  private host: number | undefined;
  constructor(value: number, dtype: DType = 'float32') {
    if (!isDType(dtype)) throw new Error(`DeviceScalar: unknown dtype '${String(dtype)}'; expected one of ${DTYPES.join(', ')}`);
    if (typeof value !== 'number' || Number.isNaN(value)) throw new Error(`DeviceScalar: value must be a number, got ${String(value)}`);
    super(tensor([value], [], { dtype }).node);
    this.host = value; // kept as given (an optimizer reports its lr as set, not rounded)
  }
  /** The value the host last set (no read-back); an error after a device-side update. */
  get value(): number {
    if (this.host === undefined) throw new Error('DeviceScalar: the value was last changed on the GPU; read it with await read()');
    return this.host;
  }
  /** Sets the value from the host: an assign, recorded like any other. */
  set value(v: number) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`DeviceScalar: value must be a number, got ${String(v)}`);
    this.host = v;
    assign(this, constant(v, [], this.dtype));
  }
  /** Sets the value from a 0-d tensor computed on the GPU (no read-back). */
  update(v: Tensor): void {
    if (!(v instanceof Tensor) || v.ndim !== 0) throw new Error(`DeviceScalar.update: expected a 0-d tensor, got ${v instanceof Tensor ? `shape ${shapeStr(v.shape)}` : typeof v}`);
    this.host = undefined;
    assign(this, v);
  }
  /** Runs what is pending and reads the value back. */
  async read(): Promise<number> { return this.item(); }
}
