// Keeps the page working offline after the first visit. Network first, so an
// updated site is picked up at once; the cache answers only when the network
// (or the server) is gone. Nothing outside the page's origin is touched.

const CACHE = 'benchsift-v1';

/** What the page needs to start and to open the default dataset. */
const SHELL = [
  './',
  'index.html',
  'app.js',
  'client.js',
  'state.js',
  'worker.js',
  'plot.js',
  'panels/adapt.js',
  'panels/compare.js',
  'panels/compute.js',
  'panels/data.js',
  'panels/estimate.js',
  'panels/filter.js',
  'panels/itemmap.js',
  'panels/select.js',
  'panels/similar.js',
  'panels/summary.js',
  'ui/dom.js',
  'ui/download.js',
  'ui/job.js',
  'ui/status.js',
  'ui/url.js',
  'style.css',
  'favicon.svg',
  'lib/api.js',
  'lib/browser.js',
  'lib/lm_eval.js',
  'lib/pool.js',
  'lib/pool-worker.js',
  'pkg/benchsift.js',
  'pkg/benchsift_bg.wasm',
  'data/mmlu_pro/responses.csv.gz',
  'data/mmlu_pro/items.csv.gz',
];

// Typed loosely: the project's tsconfig has the DOM lib, not the worker lib.
const sw = /** @type {any} */ (self);

sw.addEventListener('install', (/** @type {any} */ event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (/** @type {any} */ event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (/** @type {any} */ event) => {
  /** @type {Request} */
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== location.origin) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        // Keep a copy of every good same-origin answer (other bundled
        // datasets, once opened, work offline too).
        if (response.ok && response.type === 'basic') {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(async () => {
        // The page's URL carries settings (?data=…&method=…): match without them.
        const cached = (await caches.match(request)) ?? (await caches.match(request, { ignoreSearch: true }));
        return cached ?? new Response('offline, and this file was never loaded', { status: 503, statusText: 'Offline' });
      }),
  );
});
