// Files the page hands to the user: a recording, a chart, the view. One way for both hosts:
// an <a download> on an object URL. Chromium saves it (the browser host); Electron asks
// where with its save dialog (the default for a download nobody handles in the main
// process). A click on a download link is not a navigation, so the shell's will-navigate
// guard does not stop it, and CSP fetch directives do not apply to it.

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
