// When a dismissed timeout diagnosis stays away. Pure, no DOM.
//
// Snapshots are replaced several times a second, so the diagnosis cannot be dismissed by
// object identity (it came back within 100 ms): a dismissal names the timeout by its time
// and borrower, and hides it and anything older until a newer timeout happens.

export interface Dismissal {
  t: number;
  borrowerId: string;
}

export function dismissalOf(timeout: { t: number; borrowerId: string }): Dismissal {
  return { t: timeout.t, borrowerId: timeout.borrowerId };
}

/** The timeout to show: null when there is none or it is the dismissed one or older. */
export function shownTimeout<T extends { t: number; borrowerId: string }>(timeout: T | null, dismissed: Dismissal | null): T | null {
  if (timeout === null) return null;
  if (dismissed === null) return timeout;
  if (timeout.t > dismissed.t) return timeout;
  // Two timeouts in the same millisecond: another borrower's is news.
  return timeout.t === dismissed.t && timeout.borrowerId !== dismissed.borrowerId ? timeout : null;
}
