// The settings in the page's URL, so a link reproduces a run on the same file
// (the data itself never goes into the URL). Every panel reads and writes
// them here; replaceState, so settings never pile up in the history.

/**
 * A setting from the page's URL.
 * @param {string} name
 * @returns {string | null}
 */
export function urlSetting(name) {
  return new URLSearchParams(location.search).get(name);
}

/**
 * A count from the page's URL: digits only, anything else is ignored.
 * @param {string} name
 * @returns {string | null}
 */
export function urlCount(name) {
  const value = urlSetting(name);
  return value && /^\d+$/.test(value) ? value : null;
}

/**
 * Writes settings into the page's URL, in order: a string sets one, null
 * removes it. The other settings stay.
 * @param {Record<string, string | null>} settings
 */
export function saveUrlSettings(settings) {
  const url = new URL(location.href);
  for (const [name, value] of Object.entries(settings)) {
    if (value == null) url.searchParams.delete(name);
    else url.searchParams.set(name, value);
  }
  history.replaceState(null, '', url);
}

/** A box's setting: '1' when on, absent when off (short links). @param {boolean} on */
export const flag = (on) => (on ? '1' : null);
