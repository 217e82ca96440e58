// The workspace's layout: the picture and the wide chart on top, the detail in tabs below,
// the controls in groups by task beside them. Panels say what they are; this module says
// where they go, which group and which detail tab are shown, and where a note's spotlight is.

import type { Spotlight } from '../../../../shared/spotlight';

export const GROUPS = [
  { id: 'load', tab: 'Load & leaks', title: 'Load and leaks' },
  { id: 'transactions', tab: 'Transactions', title: 'Transactions' },
  { id: 'tax', tab: 'Tax & long tx', title: 'Connection tax and long transaction' },
  { id: 'faults', tab: 'Faults', title: 'Faults and recoveries' },
  { id: 'scale', tab: 'Instances & sweep', title: 'Instances and pool-size sweep' },
  { id: 'settings', tab: 'Pool settings', title: 'Pool settings' },
  { id: 'target', tab: 'Target', title: 'Target and saved targets' },
  { id: 'scenarios', tab: 'Scenarios', title: 'Scenarios' },
  { id: 'record', tab: 'Record & replay', title: 'Record and replay' },
] as const;
export type GroupId = (typeof GROUPS)[number]['id'];

export const DETAILS = [
  { id: 'connections', tab: 'Connections', title: 'Connections, attached processes' },
  { id: 'waiting', tab: 'Waiting', title: 'Waiting borrowers' },
  { id: 'transactions', tab: 'Transactions', title: 'Transactions' },
  { id: 'database', tab: 'Database', title: "The database's sessions" },
  { id: 'journal', tab: 'Journal', title: 'Journal' },
  { id: 'charts', tab: 'Charts', title: 'Charts: connections, waits, throughput, churn' },
] as const;
export type DetailId = (typeof DETAILS)[number]['id'];

export type Place = { group: GroupId } | { detail: DetailId };

/** Where each spotlight's panel is; null: in the picture or under it, always shown. */
export const SPOTLIGHT_PLACE: Record<Spotlight, Place | null> = {
  'waiting-line': null,
  lane: null,
  diagnosis: null,
  comparison: { group: 'tax' },
  'long-transaction': { group: 'tax' },
  instances: { group: 'scale' },
  sweep: { group: 'scale' },
  database: { detail: 'database' },
};

class Workspace {
  group = $state<GroupId>('load');
  detail = $state<DetailId>('connections');

  show(place: Place): void {
    if ('group' in place) this.group = place.group;
    else this.detail = place.detail;
  }
}

export const workspace = new Workspace();

/** Scrolls `scroller` (and nothing around it) so that `el` is in it, its top first when it does not fit. */
export function scrollWithin(scroller: HTMLElement, el: Element): void {
  const box = el.getBoundingClientRect();
  const view = scroller.getBoundingClientRect();
  if (box.top < view.top || box.height > view.height) scroller.scrollTop += box.top - view.top;
  else if (box.bottom > view.bottom) scroller.scrollTop += box.bottom - view.bottom;
}
