// Files the page hands to the user: a recording, a chart, the view. One way for both hosts:
// an <a download> on an object URL. Chromium saves it (the browser host); Electron asks
// where with its save dialog (the default for a download nobody handles in the main
// process). A click on a download link is not a navigation, so the shell's will-navigate
// guard does not stop it, and CSP fetch directives do not apply to it.

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
    .replace(/^-|-$/g, '')
    .slice(0, 40);
}

export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Not at once: the download reads the URL after this task (in Electron, from the main process).
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
