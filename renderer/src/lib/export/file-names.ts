// Names of the files Poolscope saves: what they hold and when, sortable by name.

/** "poolscope-2026-11-24-164519" plus what it is, e.g. stamped('chart-connections', 'png'). */
export function stamped(what: string | null, ext: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `poolscope-${what ? `${what}-` : ''}${date}.${ext}`;
}

/** A filename-safe slug of a title: "Acquire wait (ms)" → "acquire-wait-ms". */
export function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)
    .replace(/^-|-$/g, '');
}
