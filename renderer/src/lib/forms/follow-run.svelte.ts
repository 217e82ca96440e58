// Forms show what is running: while a run is on (started here, by a scenario, or before a
// reload), the form holds the run's values, not the last typed ones or the defaults.

/**
 * Writes the run's values into the form with `show` whenever they change. `running` gives
 * them, or null when nothing runs (the form then keeps what the user typed). Compared as
 * JSON: snapshots are replaced several times a second, and a form must not be rewritten
 * under the user's fingers unless the run itself changed.
 */
export function followRun<T>(running: () => T | null, show: (values: T) => void): void {
  const key = $derived.by(() => {
    const v = running();
    return v === null ? null : JSON.stringify(v);
  });
  $effect(() => {
    if (key !== null) show(JSON.parse(key) as T);
  });
}
