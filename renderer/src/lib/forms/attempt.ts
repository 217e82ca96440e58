/**
 * Runs a control's command: the control is busy meanwhile, its error is cleared first and
 * set to the failure's message (the engine's readable text) when the command is refused.
 */
export async function attempt(action: () => Promise<void>, setBusy: (busy: boolean) => void, setError: (message: string | null) => void): Promise<void> {
  setBusy(true);
  setError(null);
  try {
    await action();
  } catch (err) {
    setError(err instanceof Error ? err.message : String(err));
  } finally {
    setBusy(false);
  }
}

/** Sends a checked form's request through attempt(), or shows why the form was not sent. */
export async function submit<T>(
  checked: { ok: true; value: T } | { ok: false; error: string },
  send: (value: T) => Promise<unknown>,
  setBusy: (busy: boolean) => void,
  setError: (message: string | null) => void,
): Promise<void> {
  if (!checked.ok) {
    setError(checked.error);
    return;
  }
  await attempt(async () => void (await send(checked.value)), setBusy, setError);
}
