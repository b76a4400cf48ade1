// The Compute card: whether this browser offers a WebGPU adapter, and which
// one. Browsers leave wgpu's AdapterInfo blank, so the page reads
// `adapter.info` itself; a software fallback adapter is named but not used.
// It also says how many workers a large IRT fit is split over.

import { MAX_AUTO_WORKERS } from '../lib/pool.js';
import { $ } from '../ui/dom.js';

/**
 * The part of WebGPU read here (the DOM lib of this TypeScript has no WebGPU types).
 * @typedef {{vendor?: string, architecture?: string, device?: string, description?: string, isFallbackAdapter?: boolean}} AdapterInfo
 * @typedef {{info?: AdapterInfo, isFallbackAdapter?: boolean}} Adapter
 * @typedef {{requestAdapter(options: {powerPreference: string}): Promise<Adapter | null>}} Gpu
 */

/** Says in the Compute card where benchsift computes. */
export async function probeWebGPU() {
  const cores = navigator.hardwareConcurrency || 1;
  const workers = Math.min(MAX_AUTO_WORKERS, cores);
  $('cores').textContent =
    workers > 1
      ? `This browser reports ${cores} cores: an IRT fit of a large matrix is split over ${workers} workers, each holding a block of the models (the same fit, to the bit, as on one).`
      : 'This browser reports one core: IRT fits run in one worker.';
  const out = $('backend');
  const gpu = /** @type {{gpu?: Gpu}} */ (/** @type {unknown} */ (navigator)).gpu;
  if (!gpu) {
    out.textContent = 'No WebGPU in this browser (or the page is not on a secure origin): benchsift computes on the CPU with WebAssembly SIMD.';
    out.dataset.backend = 'cpu';
    return;
  }
  /** @type {Adapter | null} */
  let adapter = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    adapter = null;
  }
  if (!adapter) {
    out.textContent = 'WebGPU is present but offers no adapter (blocked or unsupported GPU): benchsift computes on the CPU with WebAssembly SIMD.';
    out.dataset.backend = 'cpu';
    return;
  }
  const info = adapter.info ?? {};
  const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' · ') || 'unnamed adapter';
  if (fallback) {
    out.textContent = `WebGPU adapter: ${name} (a software fallback adapter). benchsift computes on the CPU with WebAssembly SIMD, which is faster than a software GPU.`;
    out.dataset.backend = 'cpu';
  } else {
    out.textContent = `WebGPU adapter: ${name}. Large similarity searches use the GPU; small ones stay on the CPU, where they finish sooner.`;
    out.dataset.backend = 'gpu';
  }
  out.dataset.adapter = name;
  out.dataset.fallback = String(fallback);
}
