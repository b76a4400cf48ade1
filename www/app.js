// The page's entry: one worker client and one state object, handed to every
// panel's setup; the Data panel reads the files and the others start over
// each time it does. Each panel lives in panels/, the helpers they share
// (jobs, URL settings, downloads, DOM) in ui/. All user text goes through
// textContent.

import { WorkerClient } from './client.js';
import { setUpAdapt } from './panels/adapt.js';
import { setUpCompare } from './panels/compare.js';
import { probeWebGPU } from './panels/compute.js';
import { setUpData } from './panels/data.js';
import { setUpEstimate } from './panels/estimate.js';
import { setUpFilter } from './panels/filter.js';
import { setUpItemMap } from './panels/itemmap.js';
import { setUpSelect } from './panels/select.js';
import { setUpSimilar } from './panels/similar.js';
import { createState } from './state.js';
import { $ } from './ui/dom.js';
import { showFatal } from './ui/status.js';

/** @type {import('./state.js').Page} */
const page = { state: createState(), client: new WorkerClient() };

const panels = [setUpSelect(page), setUpFilter(page), setUpItemMap(page), setUpEstimate(page), setUpAdapt(page), setUpCompare(page), setUpSimilar(page)];
const data = setUpData(page, () => {
  for (const panel of panels) panel.reset();
});

page.client.run('version').then(({ result }) => ($('version').textContent = result), showFatal);
// Offline after the first visit (sw.js); file:// pages cannot have one.
if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn('no offline copy:', e));
}
probeWebGPU();
data.open();
